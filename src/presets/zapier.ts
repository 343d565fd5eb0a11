import type { Preset } from './types';
import { sentences } from '../shared/text';

/** Zapier "Webhooks by Zapier" POST: JSON or form, flat keys, Basic auth (or a token). */
export const zapier: Preset = {
  name: 'zapier',
  title: 'Zapier (Webhooks by Zapier)',
  source: 'sender docs',
  config: {
    verify: { type: 'basic', username: 'zapier', secret: 'ZAPIER_PASSWORD' },
    customerId: 'crm_id',
  },
  recipe: sentences(
    'Zapier > action "Webhooks by Zapier" > POST:',
    'URL = the endpoint URL, Payload Type = json or form, Data = one line per field (crm_id, name, phone, ...),',
    'Basic Auth = zapier|<ZAPIER_PASSWORD>.',
    'Zapier drops empty values, so a field it leaves out is simply not updated.',
  ),
};
