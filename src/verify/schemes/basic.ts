import * as z from '../../shared/zod';
import { safeEqual, decodeSignature } from '../crypto';
import { SecretRef, secretNames } from '../secret-name';
import { defineScheme } from '../types';

const schema = z.strictObject({
  type: z.literal('basic'),
  /** The user name the sender must present (Zapier's POST action: anything you choose). */
  username: z.string().check(z.minLength(1)).check(z.maxLength(128)),
  /** The password, as a named secret. */
  secret: SecretRef,
});

function decodeBasic(header: string): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return null;
  const bytes = decodeSignature(match[1]!, 'base64');
  if (!bytes) return null;
  const text = new TextDecoder().decode(bytes);
  const colon = text.indexOf(':');
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** HTTP Basic auth (Zapier's POST action offers it); user name and password both compared in constant time. */
export const basic = defineScheme({
  schema,
  async verify(config, input, secrets) {
    const header = input.headers.get('authorization');
    if (!header) return { ok: false, reason: 'missing_credential', detail: 'no Authorization header' };
    const presented = decodeBasic(header);
    if (!presented)
      return { ok: false, reason: 'malformed_credential', detail: 'Authorization is not Basic <base64 user:password>' };
    const userOk = await safeEqual(presented.user, config.username);
    for (const secret of secrets) {
      if ((await safeEqual(presented.password, secret)) && userOk) return { ok: true };
    }
    return { ok: false, reason: 'credential_mismatch', detail: userOk ? 'wrong password' : 'wrong user name' };
  },
  credentialHeaders: () => ['authorization'],
  credentialQuery: () => [],
  howToSend: (c) => ({
    query: {},
    note: `Basic authentication: user name "${c.username}", password: the secret ${secretNames(c.secret)[0]}.`,
  }),
});
