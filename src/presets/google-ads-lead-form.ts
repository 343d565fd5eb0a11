import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

/**
 * Google Ads lead form extensions: `user_column_data` keyed by `column_id`, `google_key` checked, `lead_id` dedupes.
 */
export const googleAdsLeadForm: Preset = {
  name: 'google-ads-lead-form',
  title: 'Google Ads lead form',
  source: 'sender docs',
  config: {
    // the platform's setup test sends a lead nobody has: answered 200 (`unmatched` in the log), or the setup fails
    response: { status: 200, unresolved: 'accept' },
    verify: { type: 'body-key', field: 'google_key', secret: 'GOOGLE_ADS_KEY' },
    idempotencyKey: 'lead_id',
    // "Send test data" leads carry is_test: true: answered 200, logged as skipped, never sent to the CRM
    skipWhen: 'is_test = true',
    customerLookup: [
      { key: 'phone', value: 'user_column_data.PHONE_NUMBER' },
      { key: 'clue_id', value: 'lead_id' },
    ],
  },
  view(body) {
    if (!isObject(body) || !Array.isArray(body.user_column_data)) return body;
    const columns: Record<string, unknown> = {};
    for (const c of body.user_column_data)
      if (isObject(c) && typeof c.column_id === 'string') columns[c.column_id] = c.string_value;
    return { ...body, user_column_data: columns };
  },
  recipe: sentences(
    'Google Ads > the lead form asset > Lead delivery > Webhook integration:',
    'paste the URL as "Webhook URL" and a random string as "Key" (set it with PUT /admin/secrets/GOOGLE_ADS_KEY),',
    'then "Send test data": test leads (is_test: true) are answered 200 and logged as skipped.',
  ),
};
