import type { Preset } from './types';
import { sentences } from '../shared/text';

/** A plain HTML form posting from a browser (urlencoded or multipart), with the public-form protections. */
export const htmlForm: Preset = {
  name: 'html-form',
  title: 'HTML form on your site',
  source: 'sender docs',
  config: {
    verify: { type: 'token', query: 'token', secret: 'FORM_TOKEN' },
    honeypot: 'website',
    rateLimit: true,
    customerId: 'crm_id',
  },
  recipe: sentences(
    '<form method="post" action="<endpoint URL>?token=<FORM_TOKEN>">',
    'with an <input name="website" style="display:none"> honeypot;',
    'add "redirect" for thank-you pages, "turnstile" against bots, "cors" for fetch() posts.',
  ),
};
