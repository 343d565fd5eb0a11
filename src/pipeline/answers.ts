/**
 * What a refused sender is told, for each precise reason the log keeps: one exhaustive switch per kind of check,
 * so a new reason cannot be forgotten. The sender sees a generic message; the row keeps the detail.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode } from '../http/errors';
import type { BodyFailure } from '../receive/body';
import type { VerifyResult } from '../verify';
import type { TurnstileResult } from '../verify/turnstile';

export type Answer = { status: ContentfulStatusCode; code: ErrorCode; message: string; rowStatus: 'rejected' | 'failed' };

export const MISCONFIGURED = 'Endpoint is misconfigured; the operator has been told';
/** The generic 401 a refused sender sees, whatever the precise reason. */
export const SIGNATURE_REFUSED = 'Request could not be verified';

export function verifyAnswer(result: Exclude<VerifyResult, { ok: true }>): Answer {
  switch (result.reason) {
    case 'secret_missing':
      return { status: 503, code: 'endpoint_misconfigured', message: MISCONFIGURED, rowStatus: 'failed' };
    case 'missing_credential':
    case 'malformed_credential':
    case 'credential_mismatch':
    case 'malformed_signature':
    case 'signature_mismatch':
    case 'stale_timestamp':
    case 'malformed_timestamp':
      return { status: 401, code: 'invalid_signature', message: SIGNATURE_REFUSED, rowStatus: 'rejected' };
    default: {
      const exhaustive: never = result;
      throw new Error(`unhandled verification reason ${JSON.stringify(exhaustive)}`);
    }
  }
}

export function turnstileAnswer(result: Exclude<TurnstileResult, { ok: true }>): Answer {
  switch (result.reason) {
    case 'turnstile_missing':
    case 'turnstile_rejected':
      return { status: 403, code: 'turnstile_failed', message: 'The anti-bot check failed; reload the form and try again', rowStatus: 'rejected' };
    case 'turnstile_unavailable':
      return { status: 503, code: 'turnstile_unavailable', message: 'The anti-bot check could not be completed; try again shortly', rowStatus: 'failed' };
    case 'turnstile_misconfigured':
      return { status: 503, code: 'endpoint_misconfigured', message: MISCONFIGURED, rowStatus: 'failed' };
    default: {
      const exhaustive: never = result;
      throw new Error(`unhandled turnstile reason ${JSON.stringify(exhaustive)}`);
    }
  }
}

/** The HTTP status of a body that cannot be read. */
export function bodyFailureStatus(failure: BodyFailure): ContentfulStatusCode {
  switch (failure.reason) {
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'invalid_body':
      return 400;
  }
}
