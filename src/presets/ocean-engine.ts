import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

/**
 * Ocean Engine (巨量引擎) lead push: the verify_webhook challenge; `clue_id`, `telephone`, `remark_dict`. Unverified
 * lead format.
 */
export const oceanEngine: Preset = {
  name: 'ocean-engine',
  title: '巨量引擎 Ocean Engine leads',
  source: 'third-party descriptions (unverified)',
  config: {
    // the platform's setup test sends a lead nobody has: answered 200 (`unmatched` in the log), or the setup fails
    response: { status: 200, unresolved: 'accept' },
    verify: { type: 'token', query: 'token', secret: 'OCEAN_ENGINE_TOKEN' },
    handshake: { type: 'ocean-engine' },
    // ByteDance's push dedupes by its Msg-Id header (a retry carries the same one)
    idempotencyKey: { header: 'msg-id' },
    customerLookup: [
      { key: 'phone', value: 'telephone' },
      { key: 'clue_id', value: '$string(clue_id)' },
    ],
  },
  view(body) {
    if (!isObject(body)) return body;
    // the Feiyu CRM push names them telphone / adv_id, the Marketing API telephone / advertiser_id: both read
    const telephone = body.telephone ?? body.telphone;
    const advertiserId = body.advertiser_id ?? body.adv_id;
    // remark_dict may arrive as a JSON string of question -> answer
    let remarks = body.remark_dict;
    if (typeof remarks === 'string') {
      try {
        remarks = JSON.parse(remarks);
      } catch {
        // keep the text
      }
    }
    return { ...body, telephone, advertiser_id: advertiserId, remark_dict: remarks };
  },
  recipe: sentences(
    '巨量引擎 > 线索通 (Feiyu) > 线索推送 / 数据推送: paste the URL with ?token=<OCEAN_ENGINE_TOKEN>;',
    'the platform first sends a verify_webhook challenge, answered automatically.',
    'Pushes signed with the app’s client secret (X-Douyin-Signature) can be checked instead of the token: "verify":',
    '{ "type": "hmac", "preset": "douyin", "secret": "OCEAN_ENGINE_CLIENT_SECRET" }.',
    'Map name, telephone, remark_dict.<question>.',
    'The lead fields come from third-party descriptions only.',
  ),
};
