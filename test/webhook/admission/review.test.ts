// Unit tests of the AdmissionReview v1 parser and response builder.
import { describe, expect, it } from 'vitest';
import {
  admissionResponse,
  allow,
  clip,
  deny,
  sanitizeWarnings,
} from '../../../webhook/admission/response.ts';
import { parseAdmissionReview } from '../../../webhook/admission/parse.ts';
import { RESPONSE_LIMITS, type AdmissionRequest } from '../../../webhook/admission/review.ts';
import type { JsonPatchOp } from '../../../webhook/injection/json-patch.ts';

const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

/** A review as kube-apiserver sends it for a pod CREATE. */
function review(mutate?: (r: Record<string, unknown>) => void): Record<string, unknown> {
  const request: Record<string, unknown> = {
    uid: UID,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: {
      username: 'system:serviceaccount:kube-system:replicaset-controller',
      uid: 'u',
      groups: ['system:serviceaccounts', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/pod-name': ['x'] },
    },
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-' }, spec: { containers: [] } },
    oldObject: null,
    dryRun: false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
  };
  const body: Record<string, unknown> = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request,
  };
  mutate?.(request);
  return body;
}

function parseOk(body: unknown): AdmissionRequest {
  const r = parseAdmissionReview(body);
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.request;
}

function parseErr(body: unknown): string {
  const r = parseAdmissionReview(body);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

describe('parseAdmissionReview', () => {
  it('returns every field of a well-formed request', () => {
    const req = parseOk(review());
    expect(req).toMatchObject({
      uid: UID,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subResource: '',
      namespace: 'shop',
      name: '',
      operation: 'CREATE',
      dryRun: false,
      oldObject: null,
    });
    expect(req.userInfo.groups).toEqual(['system:serviceaccounts', 'system:authenticated']);
    expect(req.userInfo.extra).toEqual({ 'authentication.kubernetes.io/pod-name': ['x'] });
    expect(req.object).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'web-' },
      spec: { containers: [] },
    });
    expect(req.requestKind?.kind).toBe('Pod');
  });

  it('keeps the object raw, unknown fields included', () => {
    const req = parseOk(review((r) => ((r.object as Record<string, unknown>).futureField = { x: [1] })));
    expect((req.object as Record<string, unknown>).futureField).toEqual({ x: [1] });
  });

  it('reads dryRun and a group/resource of apps', () => {
    const req = parseOk(
      review((r) => {
        r.dryRun = true;
        r.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
        r.resource = { group: 'apps', version: 'v1', resource: 'deployments' };
        r.operation = 'UPDATE';
        r.name = 'web';
        r.oldObject = { kind: 'Deployment' };
      }),
    );
    expect(req.dryRun).toBe(true);
    expect(req.resource.group).toBe('apps');
    expect(req.operation).toBe('UPDATE');
    expect(req.oldObject).toEqual({ kind: 'Deployment' });
  });

  it('accepts a DELETE without object', () => {
    const req = parseOk(
      review((r) => {
        r.operation = 'DELETE';
        delete r.object;
      }),
    );
    expect(req.object).toBeNull();
  });

  it.each([
    ['null', null],
    ['a string', 'AdmissionReview'],
    ['a number', 42],
    ['an array', [review()]],
  ])('rejects a body that is %s', (_what, body) => {
    expect(parseErr(body)).toMatch(/the body must be a JSON object/);
  });

  it('rejects a missing request', () => {
    const body = review();
    delete body.request;
    expect(parseErr(body)).toMatch(/request must be an object/);
    expect(parseErr({ ...body, request: 'x' })).toMatch(/request must be an object/);
  });

  it('rejects a wrong apiVersion, naming the fix', () => {
    const err = parseErr({ ...review(), apiVersion: 'admission.k8s.io/v1beta1' });
    expect(err).toContain('apiVersion must be admission.k8s.io/v1');
    expect(err).toContain('admission.k8s.io/v1beta1');
    expect(err).toContain('admissionReviewVersions');
    expect(parseErr({ ...review(), apiVersion: undefined })).toContain('apiVersion');
  });

  it('rejects a wrong kind', () => {
    expect(parseErr({ ...review(), kind: 'AdmissionRequest' })).toContain(
      'kind must be AdmissionReview, not "AdmissionRequest"',
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 7],
    ['an object', { id: 1 }],
  ])('rejects a uid that is %s', (_what, uid) => {
    expect(parseErr(review((r) => (r.uid = uid)))).toMatch(/request\.uid must be a non-empty string/);
  });

  // Issue 14: a missing field was described as "undefined undefined".
  it('says a missing field is missing', () => {
    const err = parseErr(review((r) => delete r.uid));
    expect(err).toContain('request.uid must be a non-empty string, not missing');
    expect(err).not.toContain('undefined');
    expect(parseErr({ ...review(), apiVersion: undefined })).toContain('not missing');
  });

  it('rejects an absurdly long uid', () => {
    expect(parseErr(review((r) => (r.uid = 'u'.repeat(RESPONSE_LIMITS.maxUidLength + 1))))).toMatch(
      /request\.uid is \d+ characters long/,
    );
  });

  it.each([
    [
      'operation',
      (r: Record<string, unknown>) => (r.operation = 'PATCH'),
      /request\.operation must be one of/,
    ],
    ['kind', (r: Record<string, unknown>) => (r.kind = 'Pod'), /request\.kind must be an object/],
    [
      'kind.kind',
      (r: Record<string, unknown>) => (r.kind = { group: '', version: 'v1' }),
      /request\.kind\.kind must be a non-empty string/,
    ],
    ['resource', (r: Record<string, unknown>) => delete r.resource, /request\.resource must be an object/],
    [
      'resource.group',
      (r: Record<string, unknown>) => (r.resource = { group: 1, version: 'v1', resource: 'pods' }),
      /request\.resource\.group must be a string/,
    ],
    [
      'namespace',
      (r: Record<string, unknown>) => (r.namespace = ['a']),
      /request\.namespace must be a string/,
    ],
    ['dryRun', (r: Record<string, unknown>) => (r.dryRun = 'true'), /request\.dryRun must be a boolean/],
    [
      'object',
      (r: Record<string, unknown>) => (r.object = 'pod'),
      /request\.object must be a JSON object on CREATE/,
    ],
    [
      'object (array)',
      (r: Record<string, unknown>) => (r.object = []),
      /request\.object must be a JSON object/,
    ],
    [
      'object (absent)',
      (r: Record<string, unknown>) => delete r.object,
      /request\.object must be a JSON object/,
    ],
    [
      'userInfo.groups',
      (r: Record<string, unknown>) => (r.userInfo = { groups: [1] }),
      /request\.userInfo\.groups must be a list of strings/,
    ],
    [
      'userInfo.extra',
      (r: Record<string, unknown>) => (r.userInfo = { extra: { a: 'b' } }),
      /request\.userInfo\.extra\["a"\] must be a list of strings/,
    ],
  ])('rejects a bad %s, naming the field', (_field, mutate, error) => {
    expect(parseErr(review(mutate))).toMatch(error);
  });

  it('keeps a __proto__ key of userInfo.extra as a plain key', () => {
    const body = JSON.parse(
      JSON.stringify(review()).replace('"extra":{', '"extra":{"__proto__":["polluted"],'),
    ) as unknown;
    const req = parseOk(body);
    expect(Object.keys(req.userInfo.extra ?? {})).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(req.userInfo.extra)).toBe(Object.prototype);
  });
});

describe('admissionResponse', () => {
  const patch: JsonPatchOp[] = [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }];

  it('echoes the uid and allows with a base64 JSON Patch', () => {
    const out = admissionResponse(UID, allow(patch));
    expect(out.apiVersion).toBe('admission.k8s.io/v1');
    expect(out.kind).toBe('AdmissionReview');
    expect(out.response.uid).toBe(UID);
    expect(out.response.allowed).toBe(true);
    expect(out.response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(out.response.patch ?? '', 'base64').toString('utf8'))).toEqual(patch);
    expect(out.response.status).toBeUndefined();
    expect(out.response.warnings).toBeUndefined();
  });

  it('omits patch and patchType when the patch is empty', () => {
    const out = admissionResponse(UID, allow());
    expect(out.response).toEqual({ uid: UID, allowed: true });
    expect('patch' in out.response).toBe(false);
    expect('patchType' in out.response).toBe(false);
  });

  it('denies with a Status: 403 Forbidden by default, 400 BadRequest when asked', () => {
    const out = admissionResponse(UID, deny('leader-election/lease-duration: "5s" must be ...'));
    expect(out.response.allowed).toBe(false);
    expect(out.response.uid).toBe(UID);
    expect(out.response.status).toEqual({
      code: 403,
      reason: 'Forbidden',
      message: 'leader-election/lease-duration: "5s" must be ...',
    });
    expect(out.response.patch).toBeUndefined();
    expect(admissionResponse(UID, deny('malformed', 400)).response.status).toMatchObject({
      code: 400,
      reason: 'BadRequest',
    });
  });

  it('passes warnings through', () => {
    const out = admissionResponse(UID, allow(patch, ['rollout can stall', 'second']));
    expect(out.response.warnings).toEqual(['rollout can stall', 'second']);
  });

  it('caps the number and length of warnings and strips control characters', () => {
    const many = Array.from({ length: 50 }, (_, i) => `warning ${i}`);
    const capped = sanitizeWarnings(many);
    expect(capped).toHaveLength(RESPONSE_LIMITS.maxWarnings);
    expect(capped[0]).toBe('warning 0');
    expect(capped.at(-1)).toBe(`${50 - RESPONSE_LIMITS.maxWarnings + 1} more warnings not shown`);

    const [long] = sanitizeWarnings(['x'.repeat(100_000)]);
    expect(long!.length).toBeLessThanOrEqual(RESPONSE_LIMITS.maxWarningLength);
    expect(long).toContain('characters cut');

    expect(sanitizeWarnings(['a\nb\u0007c\u009bd', '   ', '\n'])).toEqual(['a b c d']);
  });

  it('keeps the head and the tail of a huge denial message (the key and the rule)', () => {
    const message = `leader-election/lease-name: "${'x'.repeat(1_000_000)}" must be a DNS-1123 subdomain`;
    const out = admissionResponse(UID, deny(message));
    const m = out.response.status!.message;
    expect(m.length).toBeLessThanOrEqual(RESPONSE_LIMITS.maxMessageLength);
    expect(m.startsWith('leader-election/lease-name: "xxx')).toBe(true);
    expect(m.endsWith('must be a DNS-1123 subdomain')).toBe(true);
  });

  it('clip leaves short texts alone', () => {
    expect(clip('short', 10)).toBe('short');
    expect(clip('0123456789abcdef', 16)).toBe('0123456789abcdef');
  });
});
