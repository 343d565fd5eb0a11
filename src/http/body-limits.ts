import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorBody } from './errors';

/**
 * How much the console and the admin API read of a request body, enforced while reading (a declared
 * Content-Length over the limit is refused before anything is read): sign-in needs a few bytes, a customer-key
 * import is the largest documented body (100,000 CSV rows), everything else fits a configuration and a 1 MiB sample.
 */
export const BODY_LIMITS = {
  signIn: 4 * 1024,
  import: 10 * 1024 * 1024,
  /** What a browser's multipart form adds around an uploaded file (boundaries, part headers, the other fields). */
  formEnvelope: 64 * 1024,
  other: 2 * 1024 * 1024,
} as const;

/** A middleware that refuses a body over `limitFor(path)` with 413 (`render` shapes the refusal for its audience). */
export function limitBodies(
  limitFor: (path: string) => number,
  render?: (c: Context, max: number) => Response | Promise<Response>,
): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const max = limitFor(c.req.path);
    const onError = (ctx: Context) =>
      render ? render(ctx, max) : ctx.json(errorBody('payload_too_large', `Body exceeds ${max} bytes`), 413);
    return bodyLimit({ maxSize: max, onError })(c, next);
  };
}
