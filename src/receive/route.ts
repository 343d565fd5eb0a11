import { Hono } from 'hono';
import { crmSettings } from '../crm/client';
import { insertDelivery } from '../deliveries/store';
import { EndpointId, type StoredEndpoint } from '../endpoints/schema';
import { getEndpoint } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { misconfigured, processWebhook } from '../pipeline';
import { envSecrets } from '../verify/env-secrets';

/** `POST /hooks/{endpoint}`: the URL users paste into their form tool or ad platform. */
export const hooks = new Hono<AppEnv>();

hooks.post('/:id', async (c) => {
  const id = c.req.param('id');
  let endpoint: StoredEndpoint | null = null;
  try {
    endpoint = EndpointId.safeParse(id).success ? await getEndpoint(c.env.ENDPOINTS, id) : null;
  } catch (err) {
    // A stored configuration that no longer validates: the operator's to fix, and the sender should retry.
    const outcome = misconfigured(id, c.req.raw, `stored configuration is invalid: ${(err as Error).message.slice(0, 500)}`);
    c.executionCtx.waitUntil(insertDelivery(c.env.DB, outcome.record).catch((e) => console.error('delivery log write failed', e)));
    return c.json(outcome.body, outcome.status);
  }
  if (!endpoint || !endpoint.config.enabled) {
    // Unknown endpoints leave no row (a scan must not become D1 writes); the Worker's logs count them.
    console.log(JSON.stringify({ event: 'unknown_endpoint', endpoint: id.slice(0, 80) }));
    throw new ApiError(404, 'not_found', 'No such endpoint');
  }

  const outcome = processWebhook(
    { crm: crmSettings(c.env), fetch: (input, init) => fetch(input, init), secrets: envSecrets(c.env), now: Date.now },
    endpoint,
    c.req.raw,
  );
  // Registered before anything is awaited: a sender that hangs up (Jinshuju waits 2 s) cancels
  // neither the CRM call nor the log write, and the answer goes out before the row is written.
  c.executionCtx.waitUntil(
    outcome.then((o) => insertDelivery(c.env.DB, o.record)).catch((err) => console.error('delivery log write failed', err)),
  );
  const { status, body } = await outcome;
  return c.json(body, status);
});

hooks.all('/:id', () => {
  throw new ApiError(405, 'method_not_allowed', 'Webhooks are POSTed to this URL');
});
