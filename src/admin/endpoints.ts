import { Hono } from 'hono/tiny';
import { rateLimitedSince } from '../deliveries/rate-limited';
import { EndpointId, type StoredEndpoint } from '../endpoints/schema';
import { saveEndpoint } from '../endpoints/save';
import { webhookUrl } from '../endpoints/url';
import { deleteEndpoint, getEndpoint, listEndpointsPage, MAX_PAGE } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { cancelDeleted, heldCounts, releaseHeld } from '../pipeline/replay';
import { coordinationOf } from '../coordination';
import { previewStoredEndpoint } from './preview';
import * as z from '../shared/zod';
import { valid, validationError } from './validation';

export const endpointsAdmin = new Hono<AppEnv>();

const IdParam = z.object({ id: EndpointId });
const byId = valid('param', IdParam);

/**
 * The endpoint as the API shows it, with the URL to paste into the sender and how many deliveries it holds (disabled).
 */
function view(endpoint: StoredEndpoint, requestUrl: string, held: Map<string, number>) {
  return { ...endpoint, ...webhookUrl(requestUrl, endpoint), held: held.get(endpoint.id) ?? 0 };
}

export const EndpointsQuery = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int()).check(z.gte(1)).check(z.lte(MAX_PAGE)), 100),
  cursor: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(1024))),
});

/** Endpoints by id, a page at a time (100, at most 200): `nextCursor` fetches the next page, null at the end. */
endpointsAdmin.get('/', valid('query', EndpointsQuery), async (c) => {
  const q = c.req.valid('query');
  const [page, held] = await Promise.all([
    listEndpointsPage(c.env.ENDPOINTS, { limit: q.limit, cursor: q.cursor }),
    heldCounts(c.env.DB),
  ]);
  return c.json({ endpoints: page.endpoints.map((e) => view(e, c.req.url, held)), nextCursor: page.next });
});

endpointsAdmin.get('/:id', byId, async (c) => {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, c.req.valid('param').id);
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  return c.json(view(endpoint, c.req.url, await heldCounts(c.env.DB)));
});

/** How many requests the rate limit refused, per minute, over the last 24 hours. */
endpointsAdmin.get('/:id/rate-limited', byId, async (c) => {
  const { id } = c.req.valid('param');
  const since = Date.now() - 24 * 3600_000;
  return c.json({
    endpointId: id,
    since: new Date(since).toISOString(),
    ...(await rateLimitedSince(c.env.DB, id, since)),
  });
});

/** What a sample request (this request's body, content type, headers and query) would send: no CRM call, no row. */
endpointsAdmin.post('/:id/preview', byId, async (c) => c.json(await previewStoredEndpoint(c, c.req.valid('param').id)));

// the configuration is checked by saveEndpoint (schema, then every expression compiled), as the console's is
endpointsAdmin.put('/:id', byId, valid('json', z.unknown(), 'endpoint configuration'), async (c) => {
  const { id } = c.req.valid('param');
  const saved = await saveEndpoint(c.env, id, c.req.valid('json'), c.get('person')?.who ?? 'admin');
  if (!saved.ok) throw validationError(saved.issues, 'endpoint configuration');
  c.set('auditDetail', { version: saved.version, created: saved.created });
  // enabled (again): what was held while it was paused goes to the queue now, in arrival order
  const released = saved.endpoint.config.enabled
    ? await releaseHeld(c.env.DB, c.env.DELIVERY_QUEUE, coordinationOf(c.env), id, Date.now())
    : 0;
  const held = await heldCounts(c.env.DB);
  return c.json(
    { ...view(saved.endpoint, c.req.url, held), released, warnings: saved.warnings },
    saved.created ? 201 : 200,
  );
});

endpointsAdmin.delete('/:id', byId, async (c) => {
  const { id } = c.req.valid('param');
  const deleted = await deleteEndpoint(c.env.ENDPOINTS, id);
  if (!deleted) throw new ApiError(404, 'not_found', 'No such endpoint');
  // what it held ends `cancelled`: an endpoint created later under this id never receives it
  await cancelDeleted(c.env.DB, id, Date.now());
  return c.body(null, 204);
});
