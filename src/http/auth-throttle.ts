/**
 * Guessing without friction is over: failed console sign-ins and failed admin authentications are counted per
 * client network (an IPv4 address, an IPv6 /64: rotating addresses inside one /64 counts as one client) with the
 * AUTH_RATE_LIMITER binding (10 a minute, wrangler.toml). Past the limit the client is answered 429 with Retry-After,
 * and until the period is over this isolate refuses it before even comparing a token.
 */
import { clientIp, clientNetwork } from '../shared/request';
export const AUTH_RETRY_AFTER_SECONDS = 60;

export type AuthKind = 'console' | 'admin';

const blocked = new Map<string, number>();

/** Whether this client is refused for now (it failed too often): answer 429 without looking at its token. */
export function authBlocked(kind: AuthKind, request: Request, now: number): boolean {
  const key = `${kind}:${clientNetwork(request)}`;
  const until = blocked.get(key);
  if (until === undefined) return false;
  if (until > now) return true;
  blocked.delete(key);
  return false;
}

/** Records one failed authentication; `true` when the client is now over the limit (answer 429, not 401). */
export async function authFailed(
  limiter: RateLimit | undefined,
  kind: AuthKind,
  request: Request,
  now: number,
): Promise<boolean> {
  const ip = clientIp(request);
  const network = clientNetwork(request);
  console.warn(JSON.stringify({ event: 'auth_failed', kind, ip }));
  if (!limiter) return false;
  try {
    const { success } = await limiter.limit({ key: `auth:${kind}:${network}` });
    if (success) return false;
  } catch (err) {
    console.error('auth rate limiter failed', err);
    return false;
  }
  if (blocked.size >= 10_000) blocked.delete(blocked.keys().next().value!);
  blocked.set(`${kind}:${network}`, now + AUTH_RETRY_AFTER_SECONDS * 1000);
  return true;
}
