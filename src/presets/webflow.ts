import { isObject, type Preset } from './types';

/** Webflow form submissions: `payload.data` keyed by field label; timestamped signature. */
export const webflow: Preset = {
  name: 'webflow',
  title: 'Webflow forms',
  source: 'sender docs',
  config: {
    verify: { type: 'hmac', preset: 'webflow', secret: 'WEBFLOW_SECRET' },
  },
  view(body) {
    if (!isObject(body) || !isObject(body.payload)) return body;
    return { ...body.payload, triggerType: body.triggerType, data: isObject(body.payload.data) ? body.payload.data : {} };
  },
  recipe:
    'Webflow > Site settings > Apps & integrations > Webhooks > Add webhook: trigger "Form submission", paste the URL. The signing secret is the webhook\'s secret (set it as WEBFLOW_SECRET). Map data.`<Field Label>` (backticks for labels with spaces).',
};
