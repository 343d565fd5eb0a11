import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

/**
 * Xiaohongshu lead push: `data.data[]` `{label, value}` pairs keyed by label; `leads_id` + push time dedupes.
 * Unverified format.
 */
export const xiaohongshu: Preset = {
  name: 'xiaohongshu',
  title: '小红书 Xiaohongshu leads',
  source: 'third-party descriptions (unverified)',
  config: {
    // the platform's setup test sends a lead nobody has: answered 200 (`unmatched` in the log), or the setup fails
    response: { status: 200, unresolved: 'accept' },
    verify: { type: 'hmac', preset: 'xiaohongshu', secret: 'XIAOHONGSHU_SECRET' },
    // a retry repeats the push (same timestamp); an update of the same lead is a new push and goes through, and an
    // older one arriving after a newer one is superseded
    idempotencyKey: '$string(data.leads_id) & ":" & $string(timestamp)',
    version: '$string(timestamp)',
    customerLookup: [
      { key: 'phone', value: 'fields.`手机号`' },
      { key: 'clue_id', value: 'data.leads_id' },
    ],
  },
  view(body) {
    if (!isObject(body) || !isObject(body.data)) return body;
    const fields: Record<string, unknown> = {};
    for (const pair of Array.isArray(body.data.data) ? body.data.data : []) {
      if (isObject(pair) && typeof pair.label === 'string') fields[pair.label] = pair.value;
    }
    return { ...body, fields };
  },
  recipe: sentences(
    '小红书聚光 > 工具 > 线索 > 线索推送 (API/Webhook): paste the URL and the token (XIAOHONGSHU_SECRET).',
    'Map fields.`姓名`, fields.`手机号`. The signature scheme comes from third-party descriptions only:',
    "check the first deliveries' rows.",
  ),
};
