import * as z from '../../shared/zod';
import { concatBytes, decodeSignature, hmac, safeEqual, utf8 } from '../crypto';
import { checkTimestamp } from '../location';
import { SecretRef, secretNames } from '../secret-name';
import { defineScheme } from '../types';
import { DEFAULT_TOLERANCE_SECONDS } from './hmac';
import { sentences } from '../../shared/text';

const schema = z.strictObject({
  type: z.literal('standard-webhooks'),
  /** A `whsec_<base64>` secret (the bytes after the prefix are the key) or a plain one. */
  secret: SecretRef,
  toleranceSeconds: z._default(z.int().check(z.gte(1)).check(z.lte(86_400)), DEFAULT_TOLERANCE_SECONDS),
});

/**
 * The key bytes of a Standard Webhooks secret, as the reference libraries read it: base64, with or without the
 * `whsec_` prefix. A secret that is not base64 at all is used as its UTF-8 bytes (the reference libraries refuse it).
 */
function keyOf(secret: string) {
  const base64 = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  const strict = /^[A-Za-z0-9+/]+={0,2}$/.test(base64) && base64.length % 4 === 0;
  return (strict && decodeSignature(base64, 'base64')) || utf8(secret);
}

/**
 * The header names a sender uses: the spec's `webhook-*`, or `svix-*` as the Svix SDK (the most deployed sender of the
 * spec) sends the same signature.
 */
function headerNames(headers: Headers): 'webhook' | 'svix' {
  return !headers.has('webhook-signature') && headers.has('svix-signature') ? 'svix' : 'webhook';
}

/**
 * The Standard Webhooks spec: `webhook-id`, `webhook-timestamp` (seconds, within the tolerance both
 * ways), `webhook-signature` with one or more space-separated `v1,<base64>` entries over `<id>.<timestamp>.<body>`;
 * the same under the `svix-*` names.
 */
export const standardWebhooks = defineScheme({
  schema,
  async verify(config, input, secrets) {
    const names = headerNames(input.headers);
    const id = input.headers.get(`${names}-id`);
    const timestamp = input.headers.get(`${names}-timestamp`);
    const signature = input.headers.get(`${names}-signature`);
    if (!id || !timestamp || !signature) {
      const missing = [!id && `${names}-id`, !timestamp && `${names}-timestamp`, !signature && `${names}-signature`]
        .filter(Boolean)
        .join(', ');
      return { ok: false, reason: 'missing_credential', detail: `missing ${missing}` };
    }
    const checked = checkTimestamp(timestamp, 's', config.toleranceSeconds, input.now);
    if (!checked.ok) return { ok: false, reason: checked.reason, detail: `${checked.detail} (${names}-timestamp)` };

    const presented = signature
      .split(' ')
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => decodeSignature(entry.slice(3), 'base64'))
      .filter((sig): sig is NonNullable<typeof sig> => sig !== null);
    if (presented.length === 0)
      return { ok: false, reason: 'malformed_signature', detail: `no v1,<base64> entry in ${names}-signature` };

    const signed = concatBytes([utf8(`${id}.${timestamp}.`), input.body]);
    for (const secret of secrets) {
      const expected = await hmac('sha256', keyOf(secret), signed);
      for (const sig of presented)
        if (await safeEqual(sig, expected))
          return names === 'svix'
            ? { ok: true, note: 'signed under the svix-* header names (svix-id, svix-timestamp, svix-signature)' }
            : { ok: true };
    }
    return { ok: false, reason: 'signature_mismatch', detail: `no ${names}-signature entry matches` };
  },
  credentialHeaders: () => ['webhook-signature', 'svix-signature'],
  credentialQuery: () => [],
  howToSend: (c) => ({
    query: {},
    note: sentences(
      'Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature headers)',
      `with the secret ${secretNames(c.secret)[0]}.`,
    ),
  }),
});
