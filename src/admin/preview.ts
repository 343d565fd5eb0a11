import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import * as z from 'zod';
import { crmSettings } from '../crm/client';
import { storedBody } from '../queue/attempt';
import type { DeliveryRow } from '../deliveries/store';
import { formatIssues } from '../endpoints/schema';
import { checkConfig } from '../endpoints/save';
import { getEndpoint } from '../endpoints/store';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { previewWebhook, type PreviewResult, type Sample } from '../preview';
import { utf8 } from '../verify/crypto';
import { readJsonBody, validationError } from './validation';

/** Headers a sample request may carry that are never shown to expressions (the admin credential among them). */
const HIDDEN = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** A sample request as the sender would send it: this request's body, content type, headers and query. */
export async function sampleOf(c: Context): Promise<Sample> {
  const headers: Record<string, string> = {};
  for (const [k, v] of c.req.raw.headers) if (!HIDDEN.has(k)) headers[k] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of new URL(c.req.url).searchParams) query[k] = v;
  return { bytes: new Uint8Array(await c.req.arrayBuffer()), contentType: c.req.header('content-type') ?? null, headers, query };
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

/** What a replay of a logged delivery would send now (the admin API's and the console's preview-replay). */
export async function previewOfDelivery(env: Env, id: string): Promise<{ ok: true; endpointId: string; result: PreviewResult } | Extract<StoredSample, { ok: false }>> {
  const stored = await storedSample(env.DB, id);
  if (!stored.ok) return stored;
  const endpoint = await getEndpoint(env.ENDPOINTS, stored.endpointId);
  if (!endpoint) return { ok: false, why: 'not_found', message: `Endpoint ${stored.endpointId} no longer exists` };
  return { ok: true, endpointId: stored.endpointId, result: await previewWebhook(env.DB, crmSettings(env), endpoint.config, stored.sample) };
}

export type StoredSample = { ok: true; endpointId: string; sample: Sample } | { ok: false; why: 'not_found' | 'not_replayable'; message: string };

/** A logged delivery as a sample request (its stored body, content type, headers and query), if it can be replayed. */
export async function storedSample(db: D1Database, id: string): Promise<StoredSample> {
  const row = await db.prepare('SELECT * FROM deliveries WHERE id = ?').bind(id).first<DeliveryRow>();
  if (!row) return { ok: false, why: 'not_found', message: 'No such delivery' };
  const bytes = storedBody(row);
  if (!bytes || row.verified !== 1) return { ok: false, why: 'not_replayable', message: bytes ? 'The request was never verified' : 'The stored body was removed by retention' };
  const parse = <T>(t: string | null, d: T): T => (t ? (JSON.parse(t) as T) : d);
  return { ok: true, endpointId: row.endpoint_id, sample: { bytes, contentType: row.content_type, headers: parse(row.request_headers, {}), query: parse(row.request_query, {}) } };
}

/** `POST /admin/preview`: `{ "config": <endpoint configuration>, "sample": { "body", "contentType"?, "headers"?, "query"? } }`. */
export const previewAdmin = new Hono<AppEnv>();

export const PreviewRequest = z.strictObject({
  config: z.unknown(),
  sample: z.strictObject({
    /** A string is sent as is; anything else as JSON. */
    body: z.unknown(),
    contentType: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    query: z.record(z.string(), z.string()).default({}),
  }),
});

previewAdmin.post('/', async (c) => {
  const request = PreviewRequest.safeParse(await readJsonBody(c));
  if (!request.success) throw validationError(formatIssues(request.error), 'preview request');
  const config = checkConfig(request.data.config);
  if (!config.ok) throw validationError(config.issues.map((i) => ({ ...i, path: `config.${i.path}` })), 'configuration');
  const { body, contentType, headers, query } = request.data.sample;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const sample: Sample = {
    bytes: utf8(text),
    contentType: contentType ?? (typeof body === 'string' ? null : 'application/json'),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    query,
  };
  return c.json(await previewWebhook(c.env.DB, crmSettings(c.env), config.config, sample, config.mapping));
});
