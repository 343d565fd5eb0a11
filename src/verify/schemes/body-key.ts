import * as z from '../../shared/zod';
import { safeEqual } from '../crypto';
import { decodeText } from '../../receive/body';
import { parseJsonLossless } from '../../receive/json';
import { SecretRef, secretNames } from '../secret-name';
import { defineScheme } from '../types';
import { sentences } from '../../shared/text';

const schema = z.strictObject({
  type: z.literal('body-key'),
  /** The top-level body field that carries the key, e.g. "google_key" (Google Ads lead forms). */
  field: z.string().check(z.minLength(1)).check(z.maxLength(128)),
  secret: SecretRef,
});

/** The field's value from a JSON or form body; `undefined` when absent. */
function fieldOf(body: Uint8Array, field: string): unknown {
  const text = decodeText(body);
  if (text === null) return undefined;
  if (/^\s*\{/.test(text)) {
    try {
      return (parseJsonLossless(text) as Record<string, unknown>)[field];
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(text).get(field) ?? undefined;
}

/** A secret carried inside the body (Google Ads lead forms send `google_key`); it is masked in the stored payload. */
export const bodyKey = defineScheme({
  schema,
  async verify(config, input, secrets) {
    const value = fieldOf(input.body, config.field);
    if (value === undefined || value === null || value === '')
      return { ok: false, reason: 'missing_credential', detail: `no ${config.field} in the body` };
    if (typeof value !== 'string')
      return { ok: false, reason: 'malformed_credential', detail: `${config.field} is not a string` };
    for (const secret of secrets) if (await safeEqual(value, secret)) return { ok: true };
    return { ok: false, reason: 'credential_mismatch', detail: `${config.field} does not match` };
  },
  credentialHeaders: () => [],
  credentialQuery: () => [],
  howToSend: (c) => ({
    query: {},
    note: sentences(
      `The sender puts the secret ${secretNames(c.secret)[0]} in the body field "${c.field}" (Google Ads:`,
      'the "Key" field of the lead form).',
    ),
  }),
});
