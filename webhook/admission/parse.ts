// The strict parser from a request body to an AdmissionRequest: every field is checked,
// and anything that is not an AdmissionReview v1 from an API server is refused with a
// message that says what is wrong (the server answers it with HTTP 400).
import { isObject, type JsonObject } from '../../common/json.ts';
import {
  ADMISSION_API_VERSION,
  ADMISSION_REVIEW_KIND,
  OPERATIONS,
  RESPONSE_LIMITS,
  type AdmissionRequest,
  type GroupVersionKind,
  type GroupVersionResource,
  type Operation,
  type ParseResult,
  type UserInfo,
} from './review.ts';

class Malformed extends Error {}

function fail(message: string): never {
  throw new Malformed(message);
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
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
