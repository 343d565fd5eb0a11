/**
 * What a refused sender is told, for each precise reason the log keeps: one exhaustive switch per kind of check,
 * so a new reason cannot be forgotten. The sender sees a generic message; the row keeps the detail.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { EndpointConfig } from '../endpoints/schema';
import type { ErrorCode } from '../http/errors';
import type { BodyFailure } from '../receive/body';
import type { VerifyResult } from '../verify';
import type { TurnstileResult } from '../verify/turnstile';

export type Answer = {
  status: ContentfulStatusCode;
  code: ErrorCode;
  message: string;
  rowStatus: 'rejected' | 'failed';
};

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
      return {
        status: 403,
        code: 'turnstile_failed',
        message: 'The anti-bot check failed; reload the form and try again',
        rowStatus: 'rejected',
      };
    case 'turnstile_unavailable':
      return {
        status: 503,
        code: 'turnstile_unavailable',
        message: 'The anti-bot check could not be completed; try again shortly',
        rowStatus: 'failed',
      };
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

type Answered = { status: number; body: Record<string, unknown>; record: { id: string; status: string } };

/**
 * A form on a public page (anyone can post it and read the answer): the `html-form` preset, or public-form protections.
 */
export function isPublicForm(config: EndpointConfig): boolean {
  return (
    config.preset === 'html-form' || Boolean(config.cors || config.turnstile || config.honeypot || config.redirect)
  );
}

/** A refusal a visitor may read: the code and the delivery id to quote, never the CRM's or the mapping's text. */
function genericRefusal(body: Record<string, unknown>, deliveryId: string): Record<string, unknown> {
  const code = (body.error as { code?: string } | undefined)?.code ?? 'internal_error';
  return { error: { code, message: `The submission could not be processed (reference ${deliveryId})` }, deliveryId };
}

/**
 * The answer under the endpoint's `response` policy: `unresolved: "accept"` answers a webhook whose customer
 * cannot be found (and a sync one the mapping refuses) as accepted, so an ad platform's test lead or setup check
 * passes; `status` sets every accepted answer's status (204: no body); `body` replaces every accepted answer's body.
 */
export function policyAnswer(
  config: EndpointConfig,
  outcome: Answered,
): { status: ContentfulStatusCode | 204; body: Record<string, unknown> | null } {
  const policy = config.response;
  let status = outcome.status;
  let body = outcome.body;
  const rowStatus = outcome.record.status;
  const unresolved =
    rowStatus === 'unmatched' || rowStatus === 'conflict' || (rowStatus === 'invalid' && status === 422);
  if (policy?.unresolved === 'accept' && unresolved) {
    status = 200;
    body = { deliveryId: outcome.record.id, status: rowStatus };
  } else if (status >= 300) {
    return {
      status: status as ContentfulStatusCode,
      body: isPublicForm(config) ? genericRefusal(body, outcome.record.id) : body,
    };
  }
  if (policy?.status) status = policy.status;
  if (policy?.body) body = policy.body;
  return status === 204 ? { status: 204, body: null } : { status: status as ContentfulStatusCode, body };
}
