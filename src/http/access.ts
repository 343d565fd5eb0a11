/**
 * Cloudflare Access in front of the console (and optionally the admin API): the `Cf-Access-Jwt-Assertion` header is
 * a JWT signed (RS256) by the team's keys, published at `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`.
 * It is verified here (signature, audience, expiry, issuer) and the person's email taken from it. Configured by the
 * vars ACCESS_TEAM_DOMAIN (`<team>.cloudflareaccess.com`, or a URL) and ACCESS_AUD (the application's audience tag).
 */
export type AccessConfig = { issuer: string; certsUrl: string; aud: string };

export function accessConfig(env: { ACCESS_TEAM_DOMAIN?: string; ACCESS_AUD?: string }): AccessConfig | null {
  const domain = (env.ACCESS_TEAM_DOMAIN ?? '').trim().replace(/\/+$/, '');
  const aud = (env.ACCESS_AUD ?? '').trim();
  if (!domain || !aud) return null;
  const issuer = /^https?:\/\//.test(domain) ? domain : `https://${domain}`;
  return { issuer, certsUrl: `${issuer}/cdn-cgi/access/certs`, aud };
}

export type AccessResult =
  | { ok: true; email: string }
  | { ok: false; why: 'missing' | 'malformed' | 'signature' | 'audience' | 'expired' | 'issuer' | 'no_email' | 'keys' };

type Jwk = JsonWebKey & { kid?: string };
const KEYS_TTL_MS = 5 * 60_000;
let cached: { url: string; at: number; keys: Jwk[] } | null = null;

async function teamKeys(cfg: AccessConfig, fetchFn: typeof fetch, now: number, fresh: boolean): Promise<Jwk[] | null> {
  if (!fresh && cached && cached.url === cfg.certsUrl && now - cached.at < KEYS_TTL_MS) return cached.keys;
  try {
    const res = await fetchFn(cfg.certsUrl, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    const body = (await res.json()) as { keys?: Jwk[] };
    if (!Array.isArray(body.keys)) return null;
    cached = { url: cfg.certsUrl, at: now, keys: body.keys };
    return body.keys;
  } catch {
    return null;
  }
}

const fromB64url = (s: string) =>
  Uint8Array.from(
    atob(
      s
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(s.length / 4) * 4, '='),
    ),
    (ch) => ch.charCodeAt(0),
  );
const json = (s: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(new TextDecoder().decode(fromB64url(s)));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
};

/** Verifies an Access JWT; the team's keys are cached for 5 minutes and fetched again for a key id not seen yet. */
export async function verifyAccess(
  token: string | undefined,
  cfg: AccessConfig,
  fetchFn: typeof fetch,
  now = Date.now(),
): Promise<AccessResult> {
  if (!token) return { ok: false, why: 'missing' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, why: 'malformed' };
  const header = json(parts[0]!);
  const claims = json(parts[1]!);
  if (!header || !claims || header.alg !== 'RS256') return { ok: false, why: 'malformed' };
  let keys = await teamKeys(cfg, fetchFn, now, false);
  if (keys && !keys.some((k) => k.kid === header.kid)) keys = await teamKeys(cfg, fetchFn, now, true);
  const jwk = keys?.find((k) => k.kid === header.kid);
  if (!keys) return { ok: false, why: 'keys' };
  if (!jwk) return { ok: false, why: 'signature' };
  let valid = false;
  try {
    const key = await crypto.subtle.importKey(
      'jwk',
      { kty: jwk.kty, n: jwk.n, e: jwk.e, alg: 'RS256', ext: true },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    valid = await crypto.subtle.verify(
      'RSASSA-PKCS1-v1_5',
      key,
      fromB64url(parts[2]!),
      new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    );
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, why: 'signature' };
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(cfg.aud)) return { ok: false, why: 'audience' };
  const seconds = now / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= seconds) return { ok: false, why: 'expired' };
  if (typeof claims.nbf === 'number' && claims.nbf > seconds + 60) return { ok: false, why: 'expired' };
  if (claims.iss !== cfg.issuer) return { ok: false, why: 'issuer' };
  if (typeof claims.email !== 'string' || !claims.email.includes('@')) return { ok: false, why: 'no_email' };
  return { ok: true, email: claims.email.toLowerCase() };
}
