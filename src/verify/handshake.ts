import * as z from '../shared/zod';
import { safeEqual } from './crypto';
import { SecretRef, secretNames } from './secret-name';
import { resolveSecrets, type SecretResolver } from './index';

/**
 * Handshakes that prove an endpoint to a platform. They never reach the CRM and are logged as `handshake`.
 * - `meta`: `GET ?hub.mode=subscribe&hub.verify_token=<secret>&hub.challenge=<c>` answered with `<c>` as text/plain.
 * - `ocean-engine`: `POST {"event":"verify_webhook","content":{"challenge":N}}` (ByteDance's documented form; also
 *   with `challenge` at the top) answered with `{"challenge":N}`, N copied digit for digit from the raw text (it
 *   exceeds 2^53).
 */
export const HandshakeConfig = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('meta'), secret: SecretRef }),
  z.strictObject({ type: z.literal('ocean-engine') }),
]);
export type HandshakeConfig = z.infer<typeof HandshakeConfig>;

export type HandshakeResult =
  | { kind: 'none' }
  | { kind: 'answered'; response: Response; detail: string }
  | { kind: 'refused'; reason: 'credential_mismatch' | 'missing_credential' | 'secret_missing'; detail: string };

/** Meta's GET verification request. */
export async function metaHandshake(
  config: Extract<HandshakeConfig, { type: 'meta' }>,
  url: URL,
  resolve: SecretResolver,
): Promise<HandshakeResult> {
  const mode = url.searchParams.get('hub.mode');
  const token = url.searchParams.get('hub.verify_token');
  const challenge = url.searchParams.get('hub.challenge');
  if (mode !== 'subscribe' || !challenge)
    return {
      kind: 'refused',
      reason: 'missing_credential',
      detail: 'not a hub.mode=subscribe request with hub.challenge',
    };
  if (!token) return { kind: 'refused', reason: 'missing_credential', detail: 'no hub.verify_token' };
  const resolved = await resolveSecrets(secretNames(config.secret), resolve);
  if (!resolved.ok) return { kind: 'refused', reason: 'secret_missing', detail: resolved.detail };
  const secrets = resolved.values;
  for (const secret of secrets) {
    if (await safeEqual(token, secret)) {
      return {
        kind: 'answered',
        detail: 'meta subscribe verified',
        response: new Response(challenge, { headers: { 'content-type': 'text/plain; charset=utf-8' } }),
      };
    }
  }
  return { kind: 'refused', reason: 'credential_mismatch', detail: 'hub.verify_token does not match' };
}

const OCEAN_EVENT = /"event"\s*:\s*"verify_webhook"/;
const OCEAN_CHALLENGE = /"challenge"\s*:\s*(-?\d+)/;

/** Ocean Engine's POST challenge; `none` for any other body. */
export function oceanEngineHandshake(text: string): HandshakeResult {
  if (!OCEAN_EVENT.test(text)) return { kind: 'none' };
  const challenge = OCEAN_CHALLENGE.exec(text)?.[1];
  if (!challenge) return { kind: 'none' };
  // Built as text so the challenge keeps every digit.
  const body = `{"challenge":${challenge}}`;
  return {
    kind: 'answered',
    detail: 'ocean-engine verify_webhook answered',
    response: new Response(body, { headers: { 'content-type': 'application/json' } }),
  };
}
