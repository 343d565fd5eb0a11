import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

/**
 * The keys the receiver types into 飞鱼 CRM's push rule (Feiyu has no fixed payload: each ticked field gets the JSON
 * key the user types). The recipe lists them; the view also reads the spellings integrators' manuals use.
 */
export const FEIYU_KEYS = {
  clueId: '线索ID',
  name: '姓名',
  mobile: '手机号',
  create_time: '创建时间',
  ad_id: '广告ID',
  remark: '留言/备注',
} as const;

/** Spellings of the same fields seen in integrators' manuals and Feiyu's own API (`telphone`, sic). */
const ALIASES: Record<keyof typeof FEIYU_KEYS, string[]> = {
  clueId: ['clue_id', 'clueid', 'id'],
  name: ['姓名'],
  mobile: ['tel', 'telephone', 'telphone', 'phone', '手机号'],
  create_time: ['createTime', 'created_at'],
  ad_id: ['adId', 'promotion_id', 'promotionId'],
  remark: ['remark_dict', 'note', 'message'],
};

/** The answer to declare in the rule's 返回设置: the key `code` with 200 for success (the demo push gets it too). */
export const FEIYU_ANSWER = { code: 200, message: 'ok' } as const;

/**
 * 飞鱼 CRM lead push (巨量引擎 → 飞鱼CRM → 设置 → API设置 → 线索推送规则): the receiver types the JSON keys and
 * declares the success answer, and the rule saves only after a test push succeeds. Sources: three integrators'
 * manuals (纷享销客 help.fxiaoke.com, kamios, 45793.com), consistent with each other; no first-party page.
 */
export const feiyu: Preset = {
  name: 'feiyu',
  title: '飞鱼 CRM 线索推送 (巨量引擎)',
  source: 'third-party descriptions (unverified)',
  config: {
    // the declared answer for every accepted push; the test push (demo data, nobody in the CRM) is accepted too,
    // or Feiyu refuses to save the rule; it stays in the log as `unmatched`
    response: { status: 200, body: { ...FEIYU_ANSWER }, unresolved: 'accept' },
    verify: { type: 'token', query: 'token', secret: 'FEIYU_TOKEN' },
    // a retry repeats the lead's id; a lead without one is not deduplicated (a warning on its row)
    idempotencyKey: '$string(clueId)',
    customerLookup: [
      { key: 'phone', value: 'mobile' },
      { key: 'clue_id', value: '$string(clueId)' },
    ],
  },
  view(body) {
    if (!isObject(body)) return body;
    const out: Record<string, unknown> = { ...body };
    for (const [key, aliases] of Object.entries(ALIASES)) {
      if (out[key] !== undefined && out[key] !== '') continue;
      const found = aliases.find((a) => body[a] !== undefined && body[a] !== '');
      if (found) out[key] = body[found];
    }
    return out;
  },
  recipe:
    sentences(
      '飞鱼CRM → 设置 → API设置 → 线索推送规则 → 新建规则：',
      '请求方式 POST，地址粘贴上面的完整地址（把 <FEIYU_TOKEN> 换成密钥值）。',
    ) +
    `勾选要推送的字段，并把 JSON 键名填成：${Object.entries(FEIYU_KEYS)
      .map(([key, label]) => `${label} → ${key}`)
      .join('，')}（也可加一个固定值字段 source = feiyu 标明来源）。` +
    sentences(
      '返回设置：消息字段填 message，状态码字段填 code，成功码填 200，失败码填 500。',
      '保存前飞鱼会发一条测试推送（示例数据），这里会回答成功，它在推送记录里显示为“找不到客户”，不会写进 CRM。',
    ) +
    sentences(
      ' (English: POST the URL; type the JSON keys listed; declare the answer key code, success 200;',
      'the demo push is answered as success.)',
    ),
};
