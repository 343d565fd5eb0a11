/**
 * A stand-in for Cloudflare Turnstile's siteverify (`POST /turnstile/v0/siteverify`, form or JSON
 * `secret`, `response`, `remoteip`), answering like the real service. The token decides the answer,
 * so parallel tests never share state: `pass…` succeeds, `unavailable…` gets HTTP 503, `garbage…`
 * gets an HTML page, anything else `invalid-input-response`. The secret must be TURNSTILE_TEST_SECRET
 * (Cloudflare's published always-passes test secret) or the answer is `invalid-input-secret`.
 */
export const TURNSTILE_PATH = '/turnstile/v0/siteverify';
export const TURNSTILE_TEST_SECRET = '1x0000000000000000000000000000000AA';

export type TurnstileCall = { token: string; remoteip: string | null; secretOk: boolean };
const calls: TurnstileCall[] = [];

export function turnstileCalls(token?: string): TurnstileCall[] {
  return token ? calls.filter((c) => c.token === token) : calls;
}

export function siteverify(text: string, contentType: string | undefined): { status: number; body: unknown } {
  let fields: Record<string, string>;
  try {
    fields = contentType?.includes('json') ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text));
  } catch {
    return { status: 400, body: { success: false, 'error-codes': ['bad-request'] } };
  }
  const token = fields.response ?? '';
  const secretOk = fields.secret === TURNSTILE_TEST_SECRET;
  calls.push({ token, remoteip: fields.remoteip ?? null, secretOk });
  if (calls.length > 2000) calls.shift();
  if (token.startsWith('unavailable'))
    return { status: 503, body: '<html><body>503 Service Unavailable</body></html>' };
  if (token.startsWith('garbage')) return { status: 200, body: '<html><body>not json</body></html>' };
  if (!fields.secret) return { status: 200, body: { success: false, 'error-codes': ['missing-input-secret'] } };
  if (!secretOk) return { status: 200, body: { success: false, 'error-codes': ['invalid-input-secret'] } };
  if (!token) return { status: 200, body: { success: false, 'error-codes': ['missing-input-response'] } };
  if (token.startsWith('pass'))
    return {
      status: 200,
      body: {
        success: true,
        challenge_ts: new Date().toISOString(),
        hostname: 'localhost',
        'error-codes': [],
        action: '',
        cdata: '',
      },
    };
  return { status: 200, body: { success: false, 'error-codes': ['invalid-input-response'] } };
}
