/**
 * Tested settings of the `hmac` scheme for real senders: `{ "type": "hmac", "preset": "typeform", "secret": "..." }`.
 * Anything the config states overrides the preset.
 */
export const HMAC_PRESETS = {
  /** Meta (`X-Hub-Signature-256: sha256=<hex>`). Lead webhooks carry only ids; reading the lead needs the Graph API. */
  meta: { header: 'x-hub-signature-256', prefix: 'sha256=', algorithm: 'sha256', encoding: 'hex' },
  /** Typeform (`Typeform-Signature: sha256=<base64>`). */
  typeform: { header: 'typeform-signature', prefix: 'sha256=', algorithm: 'sha256', encoding: 'base64' },
  /** Tally (`Tally-Signature: <base64>`). */
  tally: { header: 'tally-signature', algorithm: 'sha256', encoding: 'base64' },
  /** Webflow: hex HMAC of `<x-webflow-timestamp>:<body>`, the timestamp in ms, 5 minutes either way. */
  webflow: {
    header: 'x-webflow-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    signed: '{timestamp}:{body}',
    timestamp: { from: { header: 'x-webflow-timestamp' }, unit: 'ms', toleranceSeconds: 300 },
  },
  /** Xiaohongshu (`X-Red-Signature: sha1=<hex>`, HMAC-SHA1). From third-party descriptions: unverified. */
  xiaohongshu: { header: 'x-red-signature', prefix: 'sha1=', algorithm: 'sha1', encoding: 'hex' },
  /** Jiandaoyun: `X-JDY-Signature` = plain SHA-1 hex of `<nonce>:<body>:<secret>:<timestamp>` (nonce and timestamp in the query). */
  jiandaoyun: {
    header: 'x-jdy-signature',
    mode: 'digest',
    algorithm: 'sha1',
    encoding: 'hex',
    signed: '{query.nonce}:{body}:{secret}:{query.timestamp}',
    timestamp: { from: { query: 'timestamp' }, unit: 's', toleranceSeconds: 300 },
  },
} as const;

export type HmacPreset = keyof typeof HMAC_PRESETS;

/** Expands `{ type: "hmac", preset, ...own }` into the preset's settings with `own` laid over them. */
export function expandPreset(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const { preset, ...own } = value as Record<string, unknown>;
  if (preset === undefined || (own.type !== 'hmac' && own.type !== undefined)) return value;
  if (typeof preset !== 'string' || !(preset in HMAC_PRESETS)) return value; // the schema then names the bad key
  return { type: 'hmac', ...HMAC_PRESETS[preset as HmacPreset], ...own };
}
