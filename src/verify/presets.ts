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
  /**
   * Webflow API-created webhooks: hex HMAC of `<x-webflow-timestamp>:<body>` with the webhook's secret, the timestamp
   * in ms (Webflow's docs, "Verifying the webhook signature"; dashboard-created webhooks are not signed). Webflow
   * retries a failed delivery with its original timestamp, 10 minutes apart: the window is ours, 1 hour either way,
   * so a retry is not refused for its age (the idempotency key stops a replay from being delivered twice).
   */
  webflow: {
    header: 'x-webflow-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    signed: '{timestamp}:{body}',
    timestamp: { from: { header: 'x-webflow-timestamp' }, unit: 'ms', toleranceSeconds: 3600 },
  },
  /**
   * Xiaohongshu (`X-Red-Signature: sha1=<hex>`). Independent receivers disagree between HMAC-SHA1 keyed with the token
   * and a plain sha1(token + body); both are accepted until a real sample settles it, and the row's warnings say which
   * matched. From third-party descriptions: unverified.
   */
  xiaohongshu: {
    header: 'x-red-signature',
    prefix: 'sha1=',
    mode: 'hmac-or-digest',
    algorithm: 'sha1',
    encoding: 'hex',
  },
  /**
   * ByteDance / Ocean Engine (`X-Douyin-Signature` = sha1(client_secret + body), hex), for pushes signed with the app's
   * client secret.
   */
  douyin: {
    header: 'x-douyin-signature',
    mode: 'digest',
    algorithm: 'sha1',
    encoding: 'hex',
    signed: '{secret}{body}',
  },
  /**
   * Jiandaoyun: `X-JDY-Signature` = plain SHA-1 hex of `<nonce>:<body>:<secret>:<timestamp>` (nonce and timestamp in
   * the query). Jiandaoyun's docs give no window for the timestamp: the 5 minutes either way are ours.
   */
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
