import * as z from 'zod';
import { decodeSignature, hmac as hmacOf, safeEqual, utf8 } from '../crypto';
import { SecretRef } from '../secret-name';
import { defineScheme } from '../types';

const schema = z.strictObject({
  type: z.literal('hmac'),
  /** Header that carries the signature, e.g. "x-signature". */
  header: z.string().regex(/^[A-Za-z0-9-]+$/).transform((h) => h.toLowerCase()),
  algorithm: z.enum(['sha256', 'sha1']).default('sha256'),
  encoding: z.enum(['hex', 'base64']).default('hex'),
  /** Text before the digest in the header, e.g. "sha256=". */
  prefix: z.string().max(32).default(''),
  secret: SecretRef,
});



/** HMAC over the raw body bytes, compared in constant time (GitHub-style `sha256=<hex>`, Typeform-style base64, ...). */
export const hmac = defineScheme({
  schema,
  async verify(config, input, secrets) {
    const header = input.headers.get(config.header);
    if (!header) return { ok: false, reason: 'missing_credential', detail: `no signature in header ${config.header}` };
    const value = header.trim();
    if (config.prefix && !value.toLowerCase().startsWith(config.prefix.toLowerCase())) {
      return { ok: false, reason: 'malformed_signature', detail: `signature does not start with "${config.prefix}"` };
    }
    const presented = decodeSignature(value.slice(config.prefix.length), config.encoding);
    if (!presented) return { ok: false, reason: 'malformed_signature', detail: `signature is not ${config.encoding}` };
    for (const secret of secrets) {
      const expected = await hmacOf(config.algorithm, utf8(secret), input.body);
      if (await safeEqual(presented, expected)) return { ok: true };
    }
    return { ok: false, reason: 'signature_mismatch', detail: `${config.algorithm} HMAC of the body does not match header ${config.header}` };
  },
  credentialHeaders: (c) => [c.header],
  credentialQuery: () => [],
});
