import type { Preset } from './types';
import { sentences } from '../shared/text';

/**
 * Automation bridges (Make, n8n, Pipedream): the way Meta, TikTok, LinkedIn and HubSpot leads reach a webhook today.
 * Each sends an HTTP request with the fields you lay out; a token in a header proves it (their HTTP modules all
 * set custom headers: Make "HTTP > Make a request", n8n "HTTP Request" node, Pipedream `$.send.http` / HTTP step).
 */
export const automation: Preset = {
  name: 'automation',
  title: 'Make, n8n, Pipedream (automation bridges)',
  source: 'sender docs',
  config: {
    verify: { type: 'token', header: 'x-webhook-token', secret: 'AUTOMATION_TOKEN' },
    customerId: 'crm_id',
  },
  recipe: sentences(
    'In the scenario / workflow, add an HTTP request:',
    'method POST, URL = the endpoint URL, header X-Webhook-Token = <AUTOMATION_TOKEN>,',
    'body type JSON with one key per field (crm_id, name, phone, ...).',
    'Make: "HTTP > Make a request"; n8n: "HTTP Request" node, Send Headers + Send Body (JSON); Pipedream:',
    'an HTTP request step.',
    'Map name, phone, ...',
    'by the keys you chose.',
  ),
};
