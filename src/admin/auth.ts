import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { safeEqual } from '../verify/crypto';
import { AUTH_RETRY_AFTER_SECONDS, authBlocked, authFailed } from '../http/auth-throttle';
import { countAuthFailure } from '../deliveries/rate-limited';
import { accessConfig, verifyAccess } from '../http/access';
import { roleOf } from '../team/people';

/**
 * Requires `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time; 401 JSON otherwise. A client that
 * fails too often is answered 429 (src/http/auth-throttle.ts), counted as `_auth-admin` in the refusal counts.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const now = Date.now();
  const counted = () =>
    c.executionCtx.waitUntil(
      countAuthFailure(c.env.DB, 'admin', now).catch((err) => console.error('auth failure count write failed', err)),
    );
  if (authBlocked('admin', c.req.raw, now)) {
    counted();
    throw tooManyFailures(c);
  }
  // behind Cloudflare Access (optional for /admin): a person's JWT, with their role, instead of the token
  const access = accessConfig(c.env);
  const jwt = c.req.header('cf-access-jwt-assertion');
  if (access && jwt && !c.req.header('authorization')) {
    const verified = await verifyAccess(jwt, access, (i, init) => fetch(i, init), now);
    if (!verified.ok)
      throw new ApiError(401, 'unauthorized', `The Cloudflare Access token was refused (${verified.why})`);
    c.set('person', {
      who: verified.email,
      role: await roleOf(c.env.DB, verified.email, c.env.ACCESS_ADMIN_EMAIL),
      via: 'api',
    });
    return next();
  }
  const expected = c.env.ADMIN_TOKEN;
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!expected) console.warn('ADMIN_TOKEN is not set: the admin API refuses every request');
  if (!expected || !match || !(await safeEqual(match[1]!.trim(), expected))) {
    counted();
    if (await authFailed(c.env.AUTH_RATE_LIMITER, 'admin', c.req.raw, now)) throw tooManyFailures(c);
    c.header('www-authenticate', 'Bearer realm="admin"');
    throw new ApiError(401, 'unauthorized', 'A valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)');
  }
  // the admin token is one person, "admin", who may do everything
  c.set('person', { who: 'admin', role: 'admin', via: 'api' });
  await next();
});

function tooManyFailures(c: { header: (name: string, value: string) => void }): ApiError {
  c.header('retry-after', String(AUTH_RETRY_AFTER_SECONDS));
  return new ApiError(
    429,
    'rate_limited',
    `Too many failed authentications from this address; retry after ${AUTH_RETRY_AFTER_SECONDS} s`,
  );
}
