/**
 * Console sessions: the admin token is exchanged once for a signed cookie. Signing out revokes the session server
 * side (its nonce in D1 `revoked_sessions` until the cookie would have expired), so a copied cookie dies with it.
 *
 * Cookie `__Host-console` = `<expires ms>.<nonce>.<who, base64url>.<HMAC-SHA256(key, "<expires>.<nonce>.<who>")>`,
 * HttpOnly, Secure, SameSite=Strict, Path=/ (required by the __Host- prefix). The key is derived from ADMIN_TOKEN, so
 * rotating the token signs every console user out. The CSRF token of a session is HMAC(key, "csrf.<nonce>"): every
 * state-changing form carries it, and it is useless without the cookie (and the cookie without it). The cookie never
 * authorises /admin, which reads only the Authorization header.
 */
import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { encodeBytes, hmac, safeEqual, utf8 } from '../verify/crypto';

export const COOKIE = 'console';
export const SESSION_HOURS = 12;

/** `who`: the person's email (Cloudflare Access), or "admin" (signed in with the admin token). */
export type Session = { nonce: string; expires: number; csrf: string; who: string };

/** The key sessions are signed with: the admin token, else SECRETS_KEY (a team signing in through Access only). */
export const sessionKey = (env: { ADMIN_TOKEN?: string; SECRETS_KEY?: string }) =>
  env.ADMIN_TOKEN || env.SECRETS_KEY || '';
const encodeWho = (who: string) => b64url(utf8(who));
const decodeWho = (s: string) =>
  new TextDecoder().decode(
    Uint8Array.from(
      atob(
        s
          .replace(/-/g, '+')
          .replace(/_/g, '/')
          .padEnd(Math.ceil(s.length / 4) * 4, '='),
      ),
      (ch) => ch.charCodeAt(0),
    ),
  );

const b64url = (bytes: Uint8Array) =>
  encodeBytes(bytes, 'base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function sign(adminToken: string, text: string): Promise<string> {
  const key = await hmac('sha256', utf8(adminToken), utf8('crm-webhook-adapter console session v1'));
  return b64url(await hmac('sha256', key, utf8(text)));
}

/** Starts a session: sets the cookie, returns the session. */
export async function startSession<E extends { Bindings: Env }>(
  c: Context<E>,
  adminToken: string,
  now = Date.now(),
  who = 'admin',
): Promise<Session> {
  const nonce = b64url(crypto.getRandomValues(new Uint8Array(18)));
  const expires = now + SESSION_HOURS * 3_600_000;
  const value = `${expires}.${nonce}.${encodeWho(who)}`;
  setCookie(c, COOKIE, `${value}.${await sign(adminToken, value)}`, {
    prefix: 'host',
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: SESSION_HOURS * 3600,
  });
  return { nonce, expires, csrf: await sign(adminToken, `csrf.${nonce}`), who };
}

/** The request's session, if its cookie is well formed, correctly signed and not expired. */
export async function readSession<E extends { Bindings: Env }>(
  c: Context<E>,
  now = Date.now(),
): Promise<Session | null> {
  const adminToken = sessionKey(c.env);
  const cookie = getCookie(c, COOKIE, 'host');
  if (!adminToken || !cookie) return null;
  const m = /^(\d{13})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
  if (!m) return null;
  const expires = Number(m[1]);
  if (!(await safeEqual(m[4]!, await sign(adminToken, `${m[1]}.${m[2]}.${m[3]}`))) || expires <= now) return null;
  const revoked = await c.env.DB.prepare('SELECT 1 AS r FROM revoked_sessions WHERE nonce = ?').bind(m[2]!).first();
  if (revoked) return null;
  return { nonce: m[2]!, expires, csrf: await sign(adminToken, `csrf.${m[2]}`), who: decodeWho(m[3]!) };
}

/** Signs out: the session is revoked server side until its cookie would have expired, and the cookie is deleted. */
export async function endSession<E extends { Bindings: Env }>(
  c: Context<E>,
  session: Session | undefined,
): Promise<void> {
  if (session)
    await c.env.DB.prepare('INSERT OR IGNORE INTO revoked_sessions (nonce, expires_at) VALUES (?, ?)')
      .bind(session.nonce, session.expires)
      .run();
  deleteCookie(c, COOKIE, { prefix: 'host', path: '/', secure: true });
}

/** Whether a state-changing request carries its session's CSRF token (form field `_csrf` or header `x-csrf-token`). */
export async function csrfOk(session: Session, given: string | undefined): Promise<boolean> {
  return typeof given === 'string' && given.length > 0 && (await safeEqual(given, session.csrf));
}
