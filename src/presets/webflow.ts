import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

/** Webflow form submissions: `payload.data` keyed by field label; timestamped signature. */
export const webflow: Preset = {
  name: 'webflow',
  title: 'Webflow forms',
  source: 'sender docs',
  config: {
    // webhooks added in the Webflow dashboard are not signed: a token in the URL (API-created ones: see the recipe)
    verify: { type: 'token', query: 'token', secret: 'WEBFLOW_TOKEN' },
    // every submission carries its id (payload.id); a retry of the same submission is not delivered twice
    idempotencyKey: '$string(id)',
  },
  view(body) {
    if (!isObject(body) || !isObject(body.payload)) return body;
    return {
      ...body.payload,
      triggerType: body.triggerType,
      data: isObject(body.payload.data) ? body.payload.data : {},
    };
  },
  recipe: sentences(
    'Webflow > Site settings > Apps & integrations > Webhooks > Add webhook:',
    'trigger "Form submission", paste the URL with ?token=<WEBFLOW_TOKEN> (dashboard webhooks are not signed).',
    'A webhook created through the Webflow API (POST /sites/{site_id}/webhooks) is signed with its own secret:',
    'use "verify": { "type": "hmac", "preset": "webflow", "secret": "WEBFLOW_SECRET" } instead.',
    'Map data.`<Field Label>` (backticks for labels with spaces).',
  ),
};
