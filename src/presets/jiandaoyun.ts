import type { Preset } from './types';
import { sentences } from '../shared/text';

/**
 * Jiandaoyun: `data` keyed by widget id or alias; `X-JDY-DeliverId` dedupes; only creates and updates are delivered.
 */
export const jiandaoyun: Preset = {
  name: 'jiandaoyun',
  title: '简道云 Jiandaoyun',
  source: 'sender docs',
  config: {
    verify: { type: 'hmac', preset: 'jiandaoyun', secret: 'JIANDAOYUN_SECRET' },
    idempotencyKey: { header: 'x-jdy-deliverid' },
    // the record's last change: a push retried after a newer one never overwrites it
    version: 'data.updateTime',
    // data_recover (a deleted entry restored) is delivered like an update
    skipWhen: "$not(op in ['data_create', 'data_update', 'data_recover'])",
  },
  recipe: sentences(
    '简道云 > 表单 > 扩展功能 > 数据推送:',
    'paste the URL, tick the events (新增/修改/恢复数据), and set the 密钥 (JIANDAOYUN_SECRET).',
    'Map data.<alias> or data.<widget id>;',
    'other events (deletes, ...) are logged as skipped unless you change skipWhen.',
  ),
};
