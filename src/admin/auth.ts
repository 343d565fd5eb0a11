import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { safeEqual } from '../verify/crypto';

/** Requires `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time; 401 JSON otherwise. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!expected) console.warn('ADMIN_TOKEN is not set: the admin API refuses every request');
  if (!expected || !match || !(await safeEqual(match[1]!.trim(), expected))) {
    c.header('www-authenticate', 'Bearer realm="admin"');
    throw new ApiError(401, 'unauthorized', 'A valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)');
  }
  await next();
});
