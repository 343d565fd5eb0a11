import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import * as z from '../shared/zod';
import { crmSettings } from '../crm/client';
import { checkConfig } from '../endpoints/save';
import { getEndpoint } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { previewOfDelivery, previewWebhook, type Sample } from '../pipeline/preview';
import { utf8 } from '../verify/crypto';
import { valid, validationError } from './validation';
import { ALWAYS_SECRET_HEADERS } from '../verify';

/** A sample request as the sender would send it: this request's body, content type, headers and query. */
export async function sampleOf(c: Context): Promise<Sample> {
  const headers: Record<string, string> = {};
  for (const [k, v] of c.req.raw.headers) if (!ALWAYS_SECRET_HEADERS.has(k)) headers[k] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of new URL(c.req.url).searchParams) query[k] = v;
  return {
    bytes: new Uint8Array(await c.req.arrayBuffer()),
    contentType: c.req.header('content-type') ?? null,
    headers,
    query,
  };
}

/** `POST /admin/endpoints/{id}/preview`: the request body is the sample. */
export async function previewStoredEndpoint(c: Context<AppEnv>, id: string) {
  const endpoint = await getEndpoint(c.env.ENDPOINTS, id);
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  return previewWebhook(c.env.DB, crmSettings(c.env), endpoint.config, await sampleOf(c));
}

/** `POST /admin/deliveries/{id}/preview`: what a replay would send under today's configuration. */
export async function previewDelivery(c: Context<AppEnv>, id: string) {
  const preview = await previewOfDelivery(c.env, id);
  if (!preview.ok) throw new ApiError(preview.why === 'not_found' ? 404 : 409, preview.why, preview.message);
  return { deliveryId: id, endpointId: preview.endpointId, ...preview.result };
}

/**
 * `POST /admin/preview`: `{ "config": <endpoint configuration>, "sample": { "body", "contentType"?, "headers"?,
 * "query"? } }`.
 */
export const previewAdmin = new Hono<AppEnv>();

export const PreviewRequest = z.strictObject({
  config: z.unknown(),
  sample: z.strictObject({
    /** A string is sent as is; anything else as JSON. */
    body: z.unknown(),
    contentType: z.optional(z.string()),
    headers: z._default(z.record(z.string(), z.string()), {}),
    query: z._default(z.record(z.string(), z.string()), {}),
  }),
});

previewAdmin.post('/', valid('json', PreviewRequest, 'preview request'), async (c) => {
  const request = c.req.valid('json');
  const config = checkConfig(request.config);
  if (!config.ok)
    throw validationError(
      config.issues.map((i) => ({ ...i, path: `config.${i.path}` })),
      'configuration',
    );
  const { body, contentType, headers, query } = request.sample;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const sample: Sample = {
    bytes: utf8(text),
    contentType: contentType ?? (typeof body === 'string' ? null : 'application/json'),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    query,
  };
  return c.json(await previewWebhook(c.env.DB, crmSettings(c.env), config.config, sample, config.mapping));
});
