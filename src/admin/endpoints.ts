import { Hono } from 'hono';
import { rateLimitedSince } from '../deliveries/rate-limited';
import { EndpointConfig, EndpointId, endpointSecretNames, formatIssues, type StoredEndpoint } from '../endpoints/schema';
import { deleteEndpoint, getEndpoint, listEndpoints, putEndpoint } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { compileMapping } from '../mapping/compile';
import { secretResolver } from '../secrets/resolver';
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
  return { ...endpoint, url: new URL(`/hooks/${endpoint.id}`, requestUrl).toString() };
}

/** Warnings a valid configuration still deserves. */
async function warningsFor(config: EndpointConfig, env: Env): Promise<string[]> {
  const warnings: string[] = [];
  if (config.verify.type === 'none') warnings.push('verify.type is "none": anyone who knows the URL can update any customer');
  const resolve = secretResolver(env);
  for (const name of endpointSecretNames(config)) {
    let value: string | undefined;
    try {
      value = await resolve(name);
    } catch (err) {
      warnings.push(`secret ${name} cannot be read: ${(err as Error).message}`);
      continue;
    }
    if (value === undefined) warnings.push(`secret ${name} is not set yet: webhooks are refused until it is (wrangler secret put ${name}, or PUT /admin/secrets/${name})`);
  }
  if (config.rateLimit && !env.HOOK_RATE_LIMITER) warnings.push('rateLimit is on but the HOOK_RATE_LIMITER binding is missing from wrangler.toml: nothing is limited');
  return warnings;
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
  const parsed = EndpointConfig.safeParse(await readJsonBody(c));
  if (!parsed.success) throw validationError(formatIssues(parsed.error), 'endpoint configuration');
  // A broken expression is refused now, not discovered when a lead arrives.
  const compiled = compileMapping(parsed.data);
  if (!compiled.ok) throw validationError(compiled.issues, 'endpoint configuration');

  const existed = (await c.env.ENDPOINTS.get(`v1:endpoint:${id}`)) !== null;
  const stored = await putEndpoint(c.env.ENDPOINTS, id, parsed.data);
  return c.json({ ...view(stored, c.req.url), warnings: await warningsFor(parsed.data, c.env) }, existed ? 200 : 201);
});

endpointsAdmin.delete('/:id', async (c) => {
  const deleted = await deleteEndpoint(c.env.ENDPOINTS, endpointId(c.req.param('id')));
  if (!deleted) throw new ApiError(404, 'not_found', 'No such endpoint');
  return c.body(null, 204);
});
