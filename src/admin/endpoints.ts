import { Hono } from 'hono/tiny';
import { rateLimitedSince } from '../deliveries/rate-limited';
import { EndpointId, type StoredEndpoint } from '../endpoints/schema';
import { saveEndpoint } from '../endpoints/save';
import { webhookUrl } from '../endpoints/url';
import { deleteEndpoint, getEndpoint, listEndpoints } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { previewStoredEndpoint } from './preview';
import * as z from '../shared/zod';
import { valid, validationError } from './validation';

export const endpointsAdmin = new Hono<AppEnv>();

const IdParam = z.object({ id: EndpointId });
const byId = valid('param', IdParam);

/** The endpoint as the API shows it, with the URL to paste into the sender. */
function view(endpoint: StoredEndpoint, requestUrl: string) {
  return { ...endpoint, ...webhookUrl(requestUrl, endpoint) };
}

endpointsAdmin.get('/', async (c) => {
  const endpoints = await listEndpoints(c.env.ENDPOINTS);
  return c.json({ endpoints: endpoints.map((e) => view(e, c.req.url)) });
});

endpointsAdmin.get('/:id', byId, async (c) => {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.valid('param').id);
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  return c.json(view(endpoint, c.req.url));
});

/** How many requests the rate limit refused, per minute, over the last 24 hours. */
endpointsAdmin.get('/:id/rate-limited', byId, async (c) => {
  const { id } = c.req.valid('param');
  const since = Date.now() - 24 * 3600_000;
  return c.json({ endpointId: id, since: new Date(since).toISOString(), ...(await rateLimitedSince(c.env.DB, id, since)) });
});

/** What a sample request (this request's body, content type, headers and query) would send: no CRM call, no row. */
endpointsAdmin.post('/:id/preview', byId, async (c) => c.json(await previewStoredEndpoint(c, c.req.valid('param').id)));

// the configuration is checked by saveEndpoint (schema, then every expression compiled), as the console's is
endpointsAdmin.put('/:id', byId, valid('json', z.unknown(), 'endpoint configuration'), async (c) => {
  const { id } = c.req.valid('param');
  const saved = await saveEndpoint(c.env, id, c.req.valid('json'));
  if (!saved.ok) throw validationError(saved.issues, 'endpoint configuration');
  return c.json({ ...view(saved.endpoint, c.req.url), warnings: saved.warnings }, saved.created ? 201 : 200);
});

endpointsAdmin.delete('/:id', byId, async (c) => {
  const deleted = await deleteEndpoint(c.env.ENDPOINTS, c.req.valid('param').id);
  if (!deleted) throw new ApiError(404, 'not_found', 'No such endpoint');
  return c.body(null, 204);
});
