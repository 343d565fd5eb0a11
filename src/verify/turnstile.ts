import * as z from '../shared/zod';
import { SecretName } from './secret-name';

/** Cloudflare's verification service; `TURNSTILE_VERIFY_URL` points tests and `npm run dev` at a stand-in. */
export const TURNSTILE_DEFAULT_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';
const TIMEOUT_MS = 5000;

/**
 * `turnstile` in an endpoint configuration: the widget's secret key (by name) and the form field carrying its token.
 */
export const TurnstileConfig = z.strictObject({
  secret: SecretName,
  field: z._default(z.string().check(z.minLength(1)).check(z.maxLength(128)), 'cf-turnstile-response'),
});
export type TurnstileConfig = z.infer<typeof TurnstileConfig>;

export type TurnstileResult =
  | { ok: true; detail: string }
  /** Missing or refused token: the sender's problem (403). */
  | { ok: false; reason: 'turnstile_missing' | 'turnstile_rejected'; detail: string }
  /** The verification service could not answer: nobody's fault, retry (503). */
  | { ok: false; reason: 'turnstile_unavailable'; detail: string }
  /** The service says the secret key is wrong: the operator's to fix (503 endpoint_misconfigured). */
  | { ok: false; reason: 'turnstile_misconfigured'; detail: string };

/** The token from a parsed form body (a repeated field counts as its first value). */
export function turnstileToken(body: unknown, field: string): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const raw = (body as Record<string, unknown>)[field];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Verifies a Turnstile token server-side (siteverify), once: tokens are single-use. */
export async function verifyTurnstile(
  fetchFn: typeof fetch,
  url: string,
  secret: string,
  token: string | undefined,
  remoteIp: string | null,
): Promise<TurnstileResult> {
  if (!token) return { ok: false, reason: 'turnstile_missing', detail: 'no Turnstile token in the form' };
  if (token.length > 2048)
    return { ok: false, reason: 'turnstile_rejected', detail: 'Turnstile token longer than 2048 characters' };
  const form = new URLSearchParams({ secret, response: token });
  if (remoteIp) form.set('remoteip', remoteIp);
  let res: Response;
  try {
    res = await fetchFn(url, { method: 'POST', body: form, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS} ms` : e.message;
    return { ok: false, reason: 'turnstile_unavailable', detail: `Turnstile verification failed: ${why}` };
  }
  const text = await res.text();
  if (!res.ok)
    return { ok: false, reason: 'turnstile_unavailable', detail: `Turnstile verification answered HTTP ${res.status}` };
  let answer: { success?: unknown; 'error-codes'?: unknown; hostname?: unknown };
  try {
    answer = JSON.parse(text);
  } catch {
    return {
      ok: false,
      reason: 'turnstile_unavailable',
      detail: 'Turnstile verification answered something that is not JSON',
    };
  }
  const codes = Array.isArray(answer['error-codes']) ? answer['error-codes'].map(String) : [];
  if (answer.success === true)
    return {
      ok: true,
      detail: `turnstile passed${typeof answer.hostname === 'string' ? ` (${answer.hostname})` : ''}`,
    };
  // A wrong secret is the operator's mistake, not the visitor's.
  if (codes.some((c) => c === 'invalid-input-secret' || c === 'missing-input-secret')) {
    return {
      ok: false,
      reason: 'turnstile_misconfigured',
      detail: `Turnstile refused the secret key: ${codes.join(', ')}`,
    };
  }
  if (codes.includes('internal-error'))
    return { ok: false, reason: 'turnstile_unavailable', detail: 'Turnstile reported an internal error' };
  return {
    ok: false,
    reason: 'turnstile_rejected',
    detail: `Turnstile refused the token: ${codes.join(', ') || 'no reason given'}`,
  };
}
