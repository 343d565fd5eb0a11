import * as z from 'zod';
import { safeEqual } from '../crypto';
import { SecretRef, secretNames } from '../secret-name';
import { defineScheme } from '../types';

const schema = z
  .strictObject({
    type: z.literal('token'),
    /** Header that carries the token, e.g. "x-webhook-token". `Authorization: Bearer <token>` also works. */
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/)
      .transform((h) => h.toLowerCase())
      .optional(),
    /** Query parameter that carries the token, e.g. "token" for `/hooks/landing?token=...`. */
    query: z.string().min(1).optional(),
    secret: SecretRef,
  })
  .refine((c) => (c.header === undefined) !== (c.query === undefined), {
    message: 'give exactly one of "header" or "query"',
  });

/** A shared secret in a header or a query parameter: all a plain HTML form or a Zapier step can do. */
export const token = defineScheme({
  schema,
  async verify(config, input, secrets) {
    let presented = config.header ? input.headers.get(config.header) : input.url.searchParams.get(config.query!);
    const where = config.header ? `header ${config.header}` : `query parameter ${config.query}`;
    if (presented && config.header === 'authorization' && /^bearer /i.test(presented)) presented = presented.slice(7);
    if (!presented) return { ok: false, reason: 'missing_credential', detail: `no token in ${where}` };
    for (const secret of secrets) {
      if (await safeEqual(presented, secret)) return { ok: true };
    }
    return { ok: false, reason: 'credential_mismatch', detail: `token in ${where} does not match` };
  },
  credentialHeaders: (c) => (c.header ? [c.header] : []),
  credentialQuery: (c) => (c.query ? [c.query] : []),
  howToSend: (c) => {
    const name = secretNames(c.secret)[0]!;
    return c.query
      ? { query: { [c.query]: `<${name}>` }, note: `Replace <${name}> with the value of the secret ${name}.` }
      : { query: {}, note: `Send the secret ${name} in the ${c.header} header${c.header === 'authorization' ? ' (Bearer <token>)' : ''}.` };
  },
});
