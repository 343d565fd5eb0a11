import * as z from '../../shared/zod';
import { safeEqual } from '../crypto';
import { SecretRef, secretNames } from '../secret-name';
import { defineScheme } from '../types';

const schema = z
  .strictObject({
    type: z.literal('token'),
    /** Header that carries the token, e.g. "x-webhook-token". `Authorization: Bearer <token>` also works. */
    header: z.optional(
      z.pipe(
        z.string().check(z.regex(/^[A-Za-z0-9-]+$/)),
        z.transform((h) => h.toLowerCase()),
      ),
    ),
    /** Query parameter that carries the token, e.g. "token" for `/hooks/landing?token=...`. */
    query: z.optional(z.string().check(z.minLength(1))),
    secret: SecretRef,
  })
  .check(
    z.refine((c) => (c.header === undefined) !== (c.query === undefined), {
      message: 'give exactly one of "header" or "query"',
    }),
  );

/** A shared secret in a header or a query parameter: all a plain HTML form or a Zapier step can do. */
const BEARER = ' (Bearer <token>)';

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
      : {
          query: {},
          note: `Send the secret ${name} in the ${c.header} header${c.header === 'authorization' ? BEARER : ''}.`,
        };
  },
});
