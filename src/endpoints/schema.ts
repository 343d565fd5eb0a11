import * as z from '../shared/zod';
import { preprocess } from '../shared/zod';
import { DEFAULT_BODY_LIMIT, MAX_BODY_LIMIT } from '../receive/body';
import { VerifyConfig } from '../verify';
import { HandshakeConfig } from '../verify/handshake';
import { secretNames } from '../verify/secret-name';
import { TurnstileConfig } from '../verify/turnstile';
import { DEFAULT_DELIVERY, DeliveryConfig } from '../deliveries/retry';
import { NotifyConfig } from '../notify';
import { isTimeZone, parseHours } from '../shared/hours';

export const WatchConfig = z.strictObject({
  /** Minutes without a webhook received, inside the watched hours, before the team is told (1 up, at most 30 days). */
  silentAfterMinutes: z.int().check(z.gte(1)).check(z.lte(43_200)),
  /** "09:00-22:00" (an end before the start wraps past midnight); without it, around the clock. */
  hours: z.optional(
    z
      .string()
      .check(
        z.refine((h) => parseHours(h) !== 'invalid', { message: 'hours is "HH:MM-HH:MM", for example "09:00-22:00"' }),
      ),
  ),
  /** An IANA time zone such as "Asia/Shanghai"; else the Worker's WATCH_TIME_ZONE. */
  timeZone: z.optional(
    z.string().check(z.refine(isTimeZone, { message: 'not a time zone: use an IANA name such as "Asia/Shanghai"' })),
  ),
});
export type WatchConfig = z.infer<typeof WatchConfig>;
import { KeyName } from '../customers/keys';
import { UpdateConfig } from '../customers/update';
import { applyPreset, PRESET_NAMES } from '../presets';
import { FieldRule } from '../mapping/rules';
import { isCanonicalId } from '../shared/ids';

/** An endpoint id, as it appears in `/hooks/{id}`. */
export const EndpointId = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'an endpoint id is 1-64 of a-z, 0-9 and -, not starting with -'));

/** A CRM id: a snowflake above 2^53, so always a decimal string. */
export const CrmId = z
  .string()
  .check(
    z.refine(
      isCanonicalId,
      'a CRM id is a decimal string such as "347772778973233152" (no sign, leading zeros or spaces; at most 19 digits)',
    ),
  );

/**
 * Names JavaScript objects give a meaning to: never a CRM field, and kept as a key they would vanish or break a page.
 */
export const OBJECT_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
export const OBJECT_NAME_MESSAGE = 'not a CRM field name (__proto__, constructor and prototype are refused)';
const FieldName = z
  .string()
  .check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a CRM field name is letters, digits and _'))
  .check(z.refine((name) => !OBJECT_NAMES.has(name), OBJECT_NAME_MESSAGE));

/** The most field rules one endpoint may have: more is refused with this number, never cut silently. */
export const MAX_FIELD_RULES = 1000;

/** The configuration's keys (stored in KV, validated on the way in and out). */
export const EndpointConfigObject = z.strictObject({
  /** A sender preset (GET /admin/presets); every key given here overrides it. */
  preset: z.optional(z.enum(PRESET_NAMES)),
  name: z.string().check(z.minLength(1)).check(z.maxLength(200)),
  enabled: z._default(z.boolean(), true),
  crm: z.strictObject({ moduleId: CrmId, productLineId: CrmId }),
  verify: VerifyConfig,
  /** A platform handshake to answer: Meta's GET echo or Ocean Engine's POST challenge. */
  handshake: z.optional(HandshakeConfig),
  /** JSONata expression yielding the customer's CRM id; the first choice. */
  customerId: z.optional(z.string().check(z.minLength(1))),
  /** Tried in order when customerId yields nothing: external keys (phone, clue_id, ...) looked up in D1. */
  customerLookup: z.optional(
    z
      .array(z.strictObject({ key: KeyName, value: z.string().check(z.minLength(1)) }))
      .check(z.minLength(1))
      .check(z.maxLength(10)),
  ),
  /** How to update: patch (default), fill-empty or merge; keepOwner; skipUnchanged (README "Updating safely"). */
  update: UpdateConfig,
  fields: z.record(FieldName, FieldRule).check(
    z.superRefine((fields, ctx) => {
      const count = Object.keys(fields).length;
      if (count > MAX_FIELD_RULES)
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `at most ${MAX_FIELD_RULES} field rules (this has ${count})`,
        });
      for (const reserved of ['mid', 'id']) {
        if (reserved in fields) {
          ctx.addIssue({
            code: 'custom',
            path: [reserved],
            message: `"${reserved}" is set by ${reserved === 'mid' ? 'crm.moduleId' : 'customerId'}, not by fields`,
          });
        }
      }
    }),
  ),
  /** Public HTML forms: a field that humans leave empty; a filled one is answered 200 and dropped (row `spam`). */
  honeypot: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(128))),
  /** Public HTML forms: a form post gets a 303 to one of these (never to a URL from the request). */
  redirect: z.optional(
    z.strictObject({ success: z.url({ protocol: /^https?$/ }), failure: z.url({ protocol: /^https?$/ }) }),
  ),
  /** Browser origins allowed to POST here with fetch (CORS); none by default. */
  cors: z.optional(
    z.strictObject({
      origins: z
        .array(
          z.pipe(
            z.url({ protocol: /^https?$/ }),
            z.transform((u) => new URL(u).origin),
          ),
        )
        .check(z.minLength(1))
        .check(z.maxLength(50)),
    }),
  ),
  /** Public HTML forms: Cloudflare Turnstile, verified server-side before anything reaches the CRM. */
  turnstile: z.optional(TurnstileConfig),
  /**
   * Opt in to the per client IP rate limit (the HOOK_RATE_LIMITER binding in wrangler.toml): 429 beyond it, no log row.
   */
  rateLimit: z._default(z.boolean(), false),
  /** Field paths of the payload masked in the log (`phone`, `contact.email`, `answers.*.phone_number`). */
  redact: z.optional(
    z
      .array(
        z
          .string()
          .check(z.regex(/^[^.\s]+(\.[^.\s]+)*$/, 'a path is keys separated by dots, * for every key or element')),
      )
      .check(z.maxLength(50)),
  ),
  /** `sync` (default) or `queue`, retries and their schedule (README "Delivery"). */
  delivery: z._default(DeliveryConfig, DEFAULT_DELIVERY),
  /** Dedupes repeats: a JSONata expression over the payload (`lead_id`) or `{ "header": "webhook-id" }`. */
  idempotencyKey: z.optional(
    z.union([
      z.string().check(z.minLength(1)),
      z.strictObject({
        header: z.pipe(
          z.string().check(z.minLength(1)).check(z.maxLength(128)),
          z.transform((h) => h.toLowerCase()),
        ),
      }),
    ]),
  ),
  /**
   * The sender's version of the record, a JSONata expression (`entry.updated_at`): of two deliveries for one customer
   * from this endpoint, an older version than the last one applied is not sent (row `superseded`). Without it, the
   * order in which the adapter received them decides.
   */
  version: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(1000))),
  /** How long a key is remembered, in days (default 7). */
  idempotencyWindowDays: z._default(
    z
      .number()
      .check(z.gte(1 / 24))
      .check(z.lte(90)),
    7,
  ),
  /** Where this endpoint's silence alerts and problems are said (else NOTIFY_URL, if set), and in which language. */
  notify: z.optional(NotifyConfig),
  /** How often leads are expected: silence past `silentAfterMinutes` of the watched hours is alerted (src/watch/). */
  watch: z.optional(WatchConfig),
  /**
   * A webhook whose customer cannot be found (by id or lookup keys): `keep` it as `unmatched` (the default), or
   * `create` the customer with the mapped fields through CRM_CREATE_PATH, once per person (README "New customers").
   */
  onUnmatched: z._default(z.enum(['keep', 'create']), 'keep'),
  /**
   * A JSONata expression over the (preset-normalised) payload: when true the webhook is answered 200 and logged
   * `skipped`.
   */
  skipWhen: z.optional(z.string().check(z.minLength(1))),
  /** The body answered on success instead of the adapter's JSON, for senders that want a specific one. */
  response: z.optional(
    z.strictObject({
      /** The body of every accepted (2xx) answer, instead of the adapter's own. */
      body: z.optional(z.record(z.string(), z.unknown())),
      /** The status of every accepted answer (default: 200 sync, 202 queued, held or handed to the queue). */
      status: z.optional(z.union([z.literal(200), z.literal(201), z.literal(202), z.literal(204)])),
      /**
       * `accept`: a webhook whose customer cannot be found (sync: or that the mapping refuses) is answered 2xx, not
       * 422; the row is kept.
       */
      unresolved: z._default(z.enum(['refuse', 'accept']), 'refuse'),
    }),
  ),
  /** Largest body accepted, in bytes (default 256 KiB, at most 1 MiB). */
  maxBodyBytes: z._default(z.int().check(z.gte(1024)).check(z.lte(MAX_BODY_LIMIT)), DEFAULT_BODY_LIMIT),
});
/** The configuration users write for one endpoint, a preset's keys filled in under it. */
export const EndpointConfig = preprocess(applyPreset, EndpointConfigObject);
export type EndpointConfig = z.infer<typeof EndpointConfigObject>;

/** What a user may send: defaults not yet applied. */
export type EndpointConfigInput = z.input<typeof EndpointConfigObject>;

/** An endpoint as stored: its config plus a revision that changes on every write. */
export const StoredEndpoint = z.object({
  id: EndpointId,
  revision: z.string(),
  updatedAt: z.string(),
  config: EndpointConfig,
});
export type StoredEndpoint = z.infer<typeof StoredEndpoint>;

/** Formats zod issues as `{ path, message }` for a 400 body. */
export function formatIssues(error: z.core.$ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** Every secret name a configuration refers to (verification, handshake, Turnstile). */
export function endpointSecretNames(config: EndpointConfig): string[] {
  const names = new Set<string>();
  if ('secret' in config.verify) for (const n of secretNames(config.verify.secret)) names.add(n);
  if (config.handshake && 'secret' in config.handshake)
    for (const n of secretNames(config.handshake.secret)) names.add(n);
  if (config.turnstile) names.add(config.turnstile.secret);
  return [...names];
}
