import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every error code the adapter puts on the wire. */
export type ErrorCode =
  | 'not_found'
  | 'method_not_allowed'
  | 'unauthorized'
  | 'invalid_signature'
  | 'invalid_body'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'validation_failed'
  | 'mapping_failed'
  | 'customer_unresolved'
  | 'crm_unavailable'
  | 'crm_rejected'
  | 'endpoint_misconfigured'
  | 'turnstile_failed'
  | 'turnstile_unavailable'
  | 'rate_limited'
  | 'secrets_unavailable'
  | 'conflict'
  | 'storage_unavailable'
  | 'not_replayable'
  | 'not_reviewable'
  | 'csrf_failed'
  | 'forbidden'
  | 'console_unavailable'
  | 'internal_error';

/** The JSON shape of every refusal: `{ "error": { "code", "message" } }`, plus optional siblings. */
export function errorBody(code: ErrorCode, message: string, extra?: Record<string, unknown>) {
  return { error: { code, message }, ...extra };
}

/**
 * An expected HTTP failure. Throw it from a route; `onError` renders it.
 * @example throw new ApiError(404, 'not_found', 'No endpoint "landing"')
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** What a 4xx from Hono itself means, as one of our codes (anything else it throws is a request we cannot read). */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** The one place errors become responses: known ones as JSON, unknown ones as a bare 500 (logged, never echoed). */
export function onError(err: Error, c: Context) {
  if (err instanceof ApiError) {
    return c.json(errorBody(err.code, err.message, err.extra), err.status);
  }
  // Hono's own HTTPException (e.g. from a middleware) keeps its status and gets our body, with the code its status
  // means
  if ('getResponse' in err && 'status' in err && typeof err.status === 'number' && err.status < 500) {
    return c.json(
      errorBody(CODE_OF_STATUS[err.status] ?? 'invalid_body', err.message || 'Bad request'),
      err.status as ContentfulStatusCode,
    );
  }
  console.error('unhandled error', err);
  return c.json(errorBody('internal_error', 'Internal error'), 500);
}

/** JSON 404 for every unknown route. */
export function notFound(c: Context) {
  return c.json(errorBody('not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404);
}
