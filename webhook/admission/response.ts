// Building the AdmissionReview response from a result: allow (with a JSON Patch and
// warnings) or deny (with a status), bounded and sanitized as kube-apiserver requires.
import type { JsonPatchOp } from '../injection/json-patch.ts';
import {
  ADMISSION_API_VERSION,
  ADMISSION_REVIEW_KIND,
  RESPONSE_LIMITS,
  type AdmissionResponse,
  type AdmissionResult,
  type AdmissionReviewResponse,
  type DenialStatus,
} from './review.ts';

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
