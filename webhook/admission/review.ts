// AdmissionReview v1, the envelope kube-apiserver POSTs to a webhook and expects
// back (k8s.io/api/admission/v1), in the style of controller-runtime's
// `webhook/admission` package: small types, a strict parser from the raw body to
// a request, and a builder from a result to the response.
//
// The object under review stays raw (`unknown`): it is never decoded into typed
// structures, so a field this code does not know survives (see injection-patch.ts).
import type { JsonPatchOp } from '../injection/injection-patch.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The request part of an AdmissionReview, checked field by field. */
export interface AdmissionRequest {
  uid: string;
  /** Kind of the object in `object` (after conversion to the version the webhook registered). */
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  /** '' for the main resource; e.g. 'status', 'ephemeralcontainers'. */
  subResource: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  /** The object's name; '' on a CREATE that relies on generateName. */
  name: string;
  /** '' for cluster-scoped resources. */
  namespace: string;
  operation: Operation;
  userInfo: UserInfo;
  /** The object as sent (raw JSON): a JSON object for CREATE and UPDATE. */
  object: unknown;
  /** The previous object on UPDATE (and DELETE), raw. */
  oldObject: unknown;
  dryRun: boolean;
  /** CreateOptions / UpdateOptions / DeleteOptions, raw. */
  options: unknown;
}

export type ParseResult = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

/** The result of a review, before it is put into the envelope. */
export type AdmissionResult =
  | { allowed: true; patch: readonly JsonPatchOp[]; warnings: readonly string[] }
  | { allowed: false; status: DenialStatus; warnings: readonly string[] };

/**
 * A metav1.Status for a denial. 403 Forbidden: the object breaks a rule (the message says which).
 * 400 BadRequest: the object itself is malformed. 500 InternalError: our bug; we fail closed.
 */
export interface DenialStatus {
  code: 400 | 403 | 500;
  reason: 'BadRequest' | 'Forbidden' | 'InternalError';
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch document. */
  patch?: string;
  warnings?: string[];
  status?: { code: number; reason: string; message: string };
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_REVIEW_KIND;
  response: AdmissionResponse;
}

/** Limits on what goes back to the API server (and to kubectl's terminal). */
export const RESPONSE_LIMITS = {
  /** kube-apiserver truncates warnings beyond 4 KiB in total; kubectl prints each on a line. */
  maxWarnings: 10,
  maxWarningLength: 1024,
  /** A denial echoes annotation values, which can be large before validation runs. */
  maxMessageLength: 8192,
  /** Kubernetes UIDs are 36-character UUIDs; anything much longer is not from an API server. */
  maxUidLength: 256,
} as const;

// ---------------------------------------------------------------------------
// Parsing

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Malformed extends Error {}

function fail(message: string): never {
  throw new Malformed(message);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? 'a long string' : JSON.stringify(v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`;
}

/** An optional string member: absent or null → fallback. */
function optString(obj: JsonObject, key: string, where: string, fallback = ''): string {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') fail(`${where}.${key} must be a string, not ${describe(v)}`);
  return v;
}

function requiredString(obj: JsonObject, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '')
    fail(`${where}.${key} must be a non-empty string, not ${describe(v)}`);
  return v;
}

function gvk(v: unknown, where: string): GroupVersionKind {
  if (!isObject(v)) fail(`${where} must be an object {group, version, kind}, not ${describe(v)}`);
  return {
    group: optString(v, 'group', where),
    version: requiredString(v, 'version', where),
    kind: requiredString(v, 'kind', where),
  };
}

function gvr(v: unknown, where: string): GroupVersionResource {
  if (!isObject(v)) fail(`${where} must be an object {group, version, resource}, not ${describe(v)}`);
  return {
    group: optString(v, 'group', where),
    version: requiredString(v, 'version', where),
    resource: requiredString(v, 'resource', where),
  };
}

function stringList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    fail(`${where} must be a list of strings`);
  }
  return v as string[];
}

function userInfo(v: unknown): UserInfo {
  if (v === undefined || v === null) return {};
  const where = 'request.userInfo';
  if (!isObject(v)) fail(`${where} must be an object, not ${describe(v)}`);
  const out: UserInfo = {};
  if (v.username !== undefined) out.username = optString(v, 'username', where);
  if (v.uid !== undefined) out.uid = optString(v, 'uid', where);
  if (v.groups !== undefined && v.groups !== null) out.groups = stringList(v.groups, `${where}.groups`);
  if (v.extra !== undefined && v.extra !== null) {
    if (!isObject(v.extra)) fail(`${where}.extra must be an object, not ${describe(v.extra)}`);
    // fromEntries defines own properties: a key such as `__proto__` stays a plain key.
    out.extra = Object.fromEntries(
      Object.entries(v.extra).map(([k, list]) => [
        k,
        stringList(list, `${where}.extra[${JSON.stringify(k)}]`),
      ]),
    );
  }
  return out;
}

function parseRequest(body: unknown): AdmissionRequest {
  if (!isObject(body)) fail(`the body must be a JSON object, not ${describe(body)}`);
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    fail(
      `apiVersion must be ${ADMISSION_API_VERSION}, not ${describe(body.apiVersion)} ` +
        `(register the webhook with admissionReviewVersions: [v1])`,
    );
  }
  if (body.kind !== ADMISSION_REVIEW_KIND) {
    fail(`kind must be ${ADMISSION_REVIEW_KIND}, not ${describe(body.kind)}`);
  }
  const r = body.request;
  if (!isObject(r)) fail(`request must be an object, not ${describe(r)}`);
  const uid = requiredString(r, 'uid', 'request');
  if (uid.length > RESPONSE_LIMITS.maxUidLength) {
    fail(`request.uid is ${uid.length} characters long; at most ${RESPONSE_LIMITS.maxUidLength} expected`);
  }
  const operation = r.operation;
  if (typeof operation !== 'string' || !(OPERATIONS as readonly string[]).includes(operation)) {
    fail(`request.operation must be one of ${OPERATIONS.join(', ')}, not ${describe(operation)}`);
  }
  const op = operation as Operation;
  const object = r.object ?? null;
  if ((op === 'CREATE' || op === 'UPDATE') && !isObject(object)) {
    fail(`request.object must be a JSON object on ${op}, not ${describe(object)}`);
  }
  const dryRun = r.dryRun ?? false;
  if (typeof dryRun !== 'boolean') fail(`request.dryRun must be a boolean, not ${describe(dryRun)}`);
  const request: AdmissionRequest = {
    uid,
    kind: gvk(r.kind, 'request.kind'),
    resource: gvr(r.resource, 'request.resource'),
    subResource: optString(r, 'subResource', 'request'),
    name: optString(r, 'name', 'request'),
    namespace: optString(r, 'namespace', 'request'),
    operation: op,
    userInfo: userInfo(r.userInfo),
    object,
    oldObject: r.oldObject ?? null,
    dryRun,
    options: r.options ?? null,
  };
  if (r.requestKind !== undefined && r.requestKind !== null) {
    request.requestKind = gvk(r.requestKind, 'request.requestKind');
  }
  if (r.requestResource !== undefined && r.requestResource !== null) {
    request.requestResource = gvr(r.requestResource, 'request.requestResource');
  }
  if (r.requestSubResource !== undefined && r.requestSubResource !== null) {
    request.requestSubResource = optString(r, 'requestSubResource', 'request');
  }
  return request;
}

/**
 * Checks an AdmissionReview v1 body (already JSON-decoded) and returns its request, or a clear
 * error naming the field at fault. Never throws.
 */
export function parseAdmissionReview(body: unknown): ParseResult {
  try {
    return { ok: true, request: parseRequest(body) };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, error: err.message };
    return { ok: false, error: `unreadable AdmissionReview: ${(err as Error).message}` };
  }
}

// ---------------------------------------------------------------------------
// Responses

export function allow(patch: readonly JsonPatchOp[] = [], warnings: readonly string[] = []): AdmissionResult {
  return { allowed: true, patch, warnings };
}

export function deny(
  message: string,
  code: DenialStatus['code'] = 403,
  warnings: readonly string[] = [],
): AdmissionResult {
  const reason = code === 400 ? 'BadRequest' : code === 403 ? 'Forbidden' : 'InternalError';
  return { allowed: false, status: { code, reason, message }, warnings };
}

// C0 and C1 control characters (tab, newline included): kube-apiserver refuses a warning
// that contains them (it goes into an HTTP Warning header), and they garble a terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Cuts the middle out of a long text, keeping its head and tail (a key at the start, a rule at the end). */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = ` … [${text.length - max} characters cut] … `;
  const keep = Math.max(0, max - marker.length);
  const head = Math.ceil(keep / 2);
  return text.slice(0, head) + marker + text.slice(text.length - (keep - head));
}

/** Warnings as kube-apiserver accepts them: printable, not too long, not too many. */
export function sanitizeWarnings(warnings: readonly string[]): string[] {
  const out: string[] = [];
  const { maxWarnings, maxWarningLength } = RESPONSE_LIMITS;
  for (const w of warnings) {
    if (typeof w !== 'string') continue;
    const text = clip(w.replace(CONTROL, ' ').trim(), maxWarningLength);
    if (text === '') continue;
    out.push(text);
  }
  if (out.length > maxWarnings) {
    const dropped = out.length - (maxWarnings - 1);
    out.splice(maxWarnings - 1, out.length, `${dropped} more warnings not shown`);
  }
  return out;
}

/**
 * The AdmissionReview v1 the API server expects back for `uid`: allowed with a base64 JSON
 * Patch (patchType JSONPatch; both omitted when the patch is empty), with warnings (capped);
 * or denied with a Status {code, reason, message}.
 */
export function admissionResponse(uid: string, result: AdmissionResult): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: result.allowed };
  if (result.allowed) {
    if (result.patch.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(result.patch), 'utf8').toString('base64');
    }
  } else {
    response.status = {
      code: result.status.code,
      reason: result.status.reason,
      message: clip(result.status.message, RESPONSE_LIMITS.maxMessageLength),
    };
  }
  const warnings = sanitizeWarnings(result.warnings);
  if (warnings.length > 0) response.warnings = warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_REVIEW_KIND, response };
}
