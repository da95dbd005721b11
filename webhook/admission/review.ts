// AdmissionReview v1, the envelope kube-apiserver POSTs to a webhook and expects
// back (k8s.io/api/admission/v1), in the style of controller-runtime's
// `webhook/admission` package: small types here, the strict parser from the raw body
// to a request in parse.ts, the builder from a result to the response in response.ts.
//
// The object under review stays raw (`unknown`): it is never decoded into typed
// structures, so a field this code does not know survives (see injection/json-patch.ts).
import type { JsonPatchOp } from '../injection/json-patch.ts';

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
