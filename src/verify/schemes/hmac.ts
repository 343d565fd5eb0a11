import * as z from '../../shared/zod';
import { concatBytes, decodeSignature, digest, hmac as hmacOf, safeEqual, utf8, type Bytes } from '../crypto';
import { Location, checkTimestamp, describeLocation, readLocation } from '../location';
import { SecretRef, secretNames } from '../secret-name';
import { defineScheme, type VerifyInput } from '../types';
import { sentences } from '../../shared/text';

/** Replay protection: the default tolerance of a signed timestamp, both ways. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const PLACEHOLDER = /\{(body|secret|timestamp|nonce|header\.[A-Za-z0-9-]+|query\.[A-Za-z0-9_.-]+)\}/g;

const schema = z
  .strictObject({
    type: z.literal('hmac'),
    /** `hmac`: keyed with the secret (default). `digest`: a plain hash of a signed text that contains `{secret}`. */
    mode: z._default(z.enum(['hmac', 'digest', 'hmac-or-digest']), 'hmac'),
    algorithm: z._default(z.enum(['sha256', 'sha1']), 'sha256'),
    encoding: z._default(z.enum(['hex', 'base64']), 'hex'),
    /** Where the signature is: a header (the usual) or a query parameter. */
    header: z.optional(
      z.pipe(
        z.string().check(z.regex(/^[A-Za-z0-9-]+$/)),
        z.transform((h) => h.toLowerCase()),
      ),
    ),
    query: z.optional(z.string().check(z.minLength(1))),
    /** Text before the digest, e.g. "sha256=". */
    prefix: z._default(z.string().check(z.maxLength(32)), ''),
    /** The signed text: placeholders {body} {secret} {timestamp} {nonce} {header.NAME} {query.NAME}. */
    signed: z._default(z.string().check(z.minLength(1)).check(z.maxLength(500)), '{body}'),
    timestamp: z.optional(
      z.strictObject({
        from: Location,
        unit: z._default(z.enum(['s', 'ms']), 's'),
        toleranceSeconds: z._default(z.int().check(z.gte(1)).check(z.lte(86_400)), DEFAULT_TOLERANCE_SECONDS),
      }),
    ),
    nonce: z.optional(z.strictObject({ from: Location })),
    secret: SecretRef,
  })
  .check(
    z.superRefine((c, ctx) => {
      if ((c.header === undefined) === (c.query === undefined))
        ctx.addIssue({ code: 'custom', message: 'give exactly one of "header" or "query" for the signature' });
      if (c.signed.includes('{timestamp}') && !c.timestamp)
        ctx.addIssue({
          code: 'custom',
          path: ['timestamp'],
          message: '"signed" uses {timestamp}: say where it comes from',
        });
      if (c.signed.includes('{nonce}') && !c.nonce)
        ctx.addIssue({ code: 'custom', path: ['nonce'], message: '"signed" uses {nonce}: say where it comes from' });
      if (c.timestamp && !timestampSigned(c.signed, c.timestamp.from)) {
        ctx.addIssue({
          code: 'custom',
          path: ['timestamp'],
          message: sentences(
            'the timestamp is checked but not signed: a captured request would replay forever with a fresh timestamp.',
            'Put {timestamp} (or its header/query placeholder) in "signed"',
          ),
        });
      }
      if (c.mode === 'digest' && !c.signed.includes('{secret}'))
        ctx.addIssue({ code: 'custom', path: ['signed'], message: 'mode "digest" needs {secret} in the signed text' });
      const rest = c.signed.replace(PLACEHOLDER, '');
      if (/[{}]/.test(rest))
        ctx.addIssue({
          code: 'custom',
          path: ['signed'],
          message: 'unknown placeholder; use {body} {secret} {timestamp} {nonce} {header.NAME} {query.NAME}',
        });
    }),
  );

type HmacConfig = z.infer<typeof schema>;

/**
 * Whether the signed text covers the timestamp: `{timestamp}`, or the placeholder of the header or query it comes from.
 */
function timestampSigned(signed: string, from: { header: string } | { query: string }): boolean {
  if (signed.includes('{timestamp}')) return true;
  const placeholder = 'header' in from ? `{header.${from.header}}` : `{query.${from.query}}`;
  return signed.toLowerCase().includes(placeholder.toLowerCase());
}

/** Builds the signed bytes from the template; the body goes in as raw bytes, never re-encoded. */
function signedBytes(config: HmacConfig, input: VerifyInput, secret: string): Bytes | string {
  const parts: Bytes[] = [];
  let last = 0;
  for (const match of config.signed.matchAll(PLACEHOLDER)) {
    parts.push(utf8(config.signed.slice(last, match.index)));
    last = match.index + match[0].length;
    const name = match[1]!;
    let value: string | null;
    if (name === 'body') {
      parts.push(input.body);
      continue;
    } else if (name === 'secret') value = secret;
    else if (name === 'timestamp') value = readLocation(config.timestamp!.from, input);
    else if (name === 'nonce') value = readLocation(config.nonce!.from, input);
    else if (name.startsWith('header.')) value = input.headers.get(name.slice(7));
    else value = input.url.searchParams.get(name.slice(6));
    if (value === null) return name; // the missing part's name
    parts.push(utf8(value));
  }
  parts.push(utf8(config.signed.slice(last)));
  return concatBytes(parts);
}

/**
 * A signature over a signed text that the config describes: one implementation for GitHub/Meta-style
 * `sha256=<hex>`, Typeform and Tally base64, Webflow `{timestamp}:{body}`, Xiaohongshu HMAC-SHA1 and
 * Jiandaoyun's plain SHA-1 digest of `{query.nonce}:{body}:{secret}:{query.timestamp}`.
 */
export const hmac = defineScheme({
  schema,
  async verify(config, input, secrets) {
    const where = config.header ? `header ${config.header}` : `query parameter ${config.query}`;
    const raw = config.header ? input.headers.get(config.header) : input.url.searchParams.get(config.query!);
    if (!raw) return { ok: false, reason: 'missing_credential', detail: `no signature in ${where}` };
    const value = raw.trim();
    if (config.prefix && !value.toLowerCase().startsWith(config.prefix.toLowerCase())) {
      return { ok: false, reason: 'malformed_signature', detail: `signature does not start with "${config.prefix}"` };
    }
    const presented = decodeSignature(value.slice(config.prefix.length), config.encoding);
    if (!presented) return { ok: false, reason: 'malformed_signature', detail: `signature is not ${config.encoding}` };

    if (config.timestamp) {
      const checked = checkTimestamp(
        readLocation(config.timestamp.from, input),
        config.timestamp.unit,
        config.timestamp.toleranceSeconds,
        input.now,
      );
      if (!checked.ok)
        return {
          ok: false,
          reason: checked.reason,
          detail: `${checked.detail} (${describeLocation(config.timestamp.from)})`,
        };
    }

    for (const secret of secrets) {
      const text = signedBytes(config, input, secret);
      if (typeof text === 'string')
        return {
          ok: false,
          reason: 'missing_credential',
          detail: `signed text needs {${text}}, which the request does not carry`,
        };
      if (
        config.mode !== 'digest' &&
        (await safeEqual(presented, await hmacOf(config.algorithm, utf8(secret), text)))
      ) {
        return config.mode === 'hmac'
          ? { ok: true }
          : { ok: true, note: `signature matched as ${config.algorithm} HMAC keyed with the secret` };
      }
      if (config.mode === 'digest' && (await safeEqual(presented, await digest(config.algorithm, text))))
        return { ok: true };
      // senders whose receivers disagree (Xiaohongshu): a plain digest of the secret followed by the signed text
      if (
        config.mode === 'hmac-or-digest' &&
        (await safeEqual(presented, await digest(config.algorithm, concatBytes([utf8(secret), text]))))
      ) {
        return { ok: true, note: `signature matched as plain ${config.algorithm}(secret + signed text)` };
      }
    }
    return {
      ok: false,
      reason: 'signature_mismatch',
      detail: `${config.algorithm} ${config.mode} of "${config.signed}" does not match ${where}`,
    };
  },
  credentialHeaders: (c) => (c.header ? [c.header] : []),
  credentialQuery: (c) => (c.query ? [c.query] : []),
  howToSend: (c) => ({
    query: {},
    note: sentences(
      `The sender signs each request with the secret ${secretNames(c.secret)[0]};`,
      `the signature travels in ${c.header ? `the ${c.header} header` : `the query parameter ${c.query}`}.`,
    ),
  }),
});
