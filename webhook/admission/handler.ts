// The admission decision: a pure function from a parsed AdmissionRequest to a result.
// No I/O and no Kubernetes API call on the request path: everything needed is in the
// request (the object, its namespace) and in the route (namespace opt-in, decided by
// the API server through the webhook's namespaceSelector).
//
//   Pod CREATE                         → injectPod
//   Deployment/StatefulSet CREATE/UPDATE → injectWorkload
//   anything else                      → allowed unchanged, no patch
import type { Logger } from '../../common/logger.ts';
import { allow, clip, deny } from './response.ts';
import { type AdmissionRequest, type AdmissionResult, type DenialStatus } from './review.ts';
import { isObject } from '../../common/json.ts';
import { injectPod } from '../injection/pod.ts';
import type { InjectionResult, WebhookConfig } from '../injection/result.ts';
import { injectWorkload } from '../injection/workload.ts';

export interface HandlerOptions {
  config: WebhookConfig;
  /** The request came through the namespace-selector webhook: the namespace opts its pods in. */
  namespaceOptIn: boolean;
}

/** The `result` label of webhook_injections_total. */
export type Outcome = 'patched' | 'skipped' | 'denied' | 'error';

export interface AdmissionDecision {
  outcome: Outcome;
  result: AdmissionResult;
  /** What we did it to: `Pod shop/web-7d9f*`, `Deployment shop/web`. */
  target: string;
  /** Why: the skip reason, the denial message, the error. */
  reason?: string;
  /** The Lease the injected agent (or the workload's pods) will use. */
  leaseName?: string;
  /** Number of JSON Patch operations. */
  patchOps: number;
}

type Handled = 'pod' | 'workload';

/** Which of our handlers a request goes to, by resource (not kind: subresources carry other kinds). */
function route(req: AdmissionRequest): Handled | undefined {
  if (req.subResource !== '') return undefined;
  const { group, resource } = req.resource;
  if (group === '' && resource === 'pods' && req.operation === 'CREATE') return 'pod';
  if (
    group === 'apps' &&
    (resource === 'deployments' || resource === 'statefulsets') &&
    (req.operation === 'CREATE' || req.operation === 'UPDATE')
  ) {
    return 'workload';
  }
  return undefined;
}

const MAX_NAME = 253;

/** `Kind namespace/name` for logs, from the request and the object, bounded in length. */
function describeTarget(req: AdmissionRequest): string {
  const meta = isObject(req.object) && isObject(req.object.metadata) ? req.object.metadata : {};
  const name =
    req.name ||
    (typeof meta.name === 'string' && meta.name) ||
    (typeof meta.generateName === 'string' && meta.generateName ? `${meta.generateName}*` : '') ||
    '<unnamed>';
  const ns = req.namespace ? `${req.namespace.slice(0, MAX_NAME)}/` : '';
  return `${req.kind.kind.slice(0, MAX_NAME)} ${ns}${name.slice(0, MAX_NAME)}`;
}

/** Denials of malformed objects are 400 BadRequest; broken rules are 403 Forbidden. */
function denialCode(message: string): DenialStatus['code'] {
  return /^malformed (pod|workload):/.test(message) ? 400 : 403;
}

function fromInjection(r: InjectionResult, target: string): AdmissionDecision {
  switch (r.kind) {
    case 'skip':
      return { outcome: 'skipped', result: allow(), target, reason: r.reason, patchOps: 0 };
    case 'deny':
      return {
        outcome: 'denied',
        result: deny(r.message, denialCode(r.message)),
        target,
        reason: r.message,
        patchOps: 0,
      };
    case 'patch':
      return {
        // An empty patch (a workload whose template is already up to date) changes nothing.
        outcome: r.patch.length > 0 ? 'patched' : 'skipped',
        result: allow(r.patch, r.warnings),
        target,
        ...(r.patch.length > 0 ? {} : { reason: 'already up to date' }),
        leaseName: r.leaseName?.slice(0, MAX_NAME),
        patchOps: r.patch.length,
      };
  }
}

/**
 * Decides one admission request. Pure and total: it never throws. A bug in the injection code
 * (an exception) is answered with a denial (500 InternalError): the webhook fails closed, as
 * failurePolicy Fail would, because an opted-in pod admitted without its agent is a second leader.
 */
export function handleAdmission(request: AdmissionRequest, opts: HandlerOptions): AdmissionDecision {
  const target = describeTarget(request);
  const handled = route(request);
  if (handled === undefined) {
    const res = request.resource;
    const what = `${res.group || 'core'}/${res.version}/${res.resource}${request.subResource ? `/${request.subResource}` : ''}`;
    return {
      outcome: 'skipped',
      result: allow(),
      target,
      reason: `${request.operation} of ${what} is not handled`,
      patchOps: 0,
    };
  }
  try {
    if (handled === 'pod') {
      const r = injectPod(request.object, {
        namespaceOptIn: opts.namespaceOptIn,
        namespace: request.namespace || undefined,
        config: opts.config,
      });
      return fromInjection(r, target);
    }
    const r = injectWorkload(request.object, opts.config, { namespaceOptIn: opts.namespaceOptIn });
    return fromInjection(r, target);
  } catch (err) {
    const message = `internal error while admitting ${target}: ${(err as Error)?.message ?? String(err)}`;
    return { outcome: 'error', result: deny(message, 500), target, reason: message, patchOps: 0 };
  }
}

/** The one structured log line per decision. */
export function logDecision(
  log: Logger,
  request: AdmissionRequest,
  decision: AdmissionDecision,
  extra: { path: string; ms?: number },
): void {
  const fields = {
    uid: request.uid,
    path: extra.path,
    operation: request.operation,
    target: decision.target,
    namespace: request.namespace.slice(0, MAX_NAME) || undefined,
    dryRun: request.dryRun || undefined,
    result: decision.outcome,
    lease: decision.leaseName,
    patchOps: decision.patchOps || undefined,
    warnings: decision.result.warnings.length || undefined,
    reason: decision.reason === undefined ? undefined : clip(decision.reason, 2000),
    ms: extra.ms === undefined ? undefined : Math.round(extra.ms * 1000) / 1000,
  };
  if (decision.outcome === 'error') log.error(fields, 'admission decision');
  else log.info(fields, 'admission decision');
}
