import { Hono } from 'hono/tiny';
import { rateLimitedSince } from '../deliveries/rate-limited';
import { EndpointId, formatIssues, type StoredEndpoint } from '../endpoints/schema';
import { saveEndpoint } from '../endpoints/save';
import { webhookUrl } from '../endpoints/url';
import { deleteEndpoint, getEndpoint, listEndpoints } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { previewStoredEndpoint } from './preview';
import { readJsonBody, validationError } from './validation';

export const endpointsAdmin = new Hono<AppEnv>();

function endpointId(raw: string): string {
  const parsed = EndpointId.safeParse(raw);
  if (!parsed.success) throw validationError(formatIssues(parsed.error).map((i) => ({ ...i, path: 'id' })));
  return parsed.data;
}

/** The endpoint as the API shows it, with the URL to paste into the sender. */
function view(endpoint: StoredEndpoint, requestUrl: string) {
  return { ...endpoint, ...webhookUrl(requestUrl, endpoint) };
}

endpointsAdmin.get('/', async (c) => {
  const endpoints = await listEndpoints(c.env.ENDPOINTS);
  return c.json({ endpoints: endpoints.map((e) => view(e, c.req.url)) });
});

endpointsAdmin.get('/:id', async (c) => {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, endpointId(c.req.param('id')));
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  return c.json(view(endpoint, c.req.url));
});

/** How many requests the rate limit refused, per minute, over the last 24 hours. */
endpointsAdmin.get('/:id/rate-limited', async (c) => {
  const id = endpointId(c.req.param('id'));
  const since = Date.now() - 24 * 3600_000;
  return c.json({ endpointId: id, since: new Date(since).toISOString(), ...(await rateLimitedSince(c.env.DB, id, since)) });
});

/** What a sample request (this request's body, content type, headers and query) would send: no CRM call, no row. */
endpointsAdmin.post('/:id/preview', async (c) => c.json(await previewStoredEndpoint(c, endpointId(c.req.param('id')))));

endpointsAdmin.put('/:id', async (c) => {
  const id = endpointId(c.req.param('id'));
  const saved = await saveEndpoint(c.env, id, await readJsonBody(c));
  if (!saved.ok) throw validationError(saved.issues, 'endpoint configuration');
  return c.json({ ...view(saved.endpoint, c.req.url), warnings: saved.warnings }, saved.created ? 201 : 200);
});

endpointsAdmin.delete('/:id', async (c) => {
  const deleted = await deleteEndpoint(c.env.ENDPOINTS, endpointId(c.req.param('id')));
  if (!deleted) throw new ApiError(404, 'not_found', 'No such endpoint');
  return c.body(null, 204);
});
