import { howToSend } from '../verify';
import type { StoredEndpoint } from './schema';

/** The URL to paste into the sender, and what else the sender must be told. */
export type WebhookUrl = { url: string; howToSend: string | null };

/**
 * The whole URL to paste: `/hooks/<id>` on this Worker's origin, with `?token=<SECRET_NAME>` when the
 * endpoint reads its token from the query (the secret's name as a placeholder, never its value).
 * @example webhookUrl('https://a.example/admin/endpoints/landing', landing) // { url:
 * 'https://a.example/hooks/landing?token=<LANDING_FORM_TOKEN>', … }
 */
export function webhookUrl(requestUrl: string, endpoint: StoredEndpoint): WebhookUrl {
  const send = howToSend(endpoint.config.verify);
  const url = new URL(`/hooks/${endpoint.id}`, requestUrl);
  // placeholders stay readable: <NAME> is not percent-encoded
  const query = Object.entries(send.query)
    .map(([name, placeholder]) => `${encodeURIComponent(name)}=${placeholder}`)
    .join('&');
  return { url: query ? `${url}?${query}` : url.toString(), howToSend: send.note };
}
