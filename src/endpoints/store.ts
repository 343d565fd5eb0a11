import { endpointSecretNames, StoredEndpoint, type EndpointConfig } from './schema';
import { IsolateCache } from '../shared/cache';

/** KV key of an endpoint configuration; the version prefix lets a later layout live beside this one. */
const PREFIX = 'v1:endpoint:';
const keyOf = (id: string) => `${PREFIX}${id}`;

/** Reads one endpoint; `null` when absent. A stored value that no longer validates is an error, not "absent". */
export async function getEndpoint(kv: KVNamespace, id: string): Promise<StoredEndpoint | null> {
  const raw = await kv.get(keyOf(id), 'json');
  if (raw === null) return null;
  return StoredEndpoint.parse(raw);
}

// The webhook path reads each endpoint at most every CACHE_MS per isolate: a KV read per webhook is
// the largest cost after the CRM call itself. KV already takes up to 60 s to spread a change; writes
// through the admin API clear this isolate's copy at once.
const CACHE_MS = 10_000;
const cache = new IsolateCache<StoredEndpoint>(CACHE_MS, 1000);

/** `getEndpoint` through the isolate's short cache (found endpoints only: a new one is seen at once). */
export async function getEndpointCached(kv: KVNamespace, id: string, now = Date.now()): Promise<StoredEndpoint | null> {
  const hit = cache.get(id, now);
  if (hit) return hit.value;
  const endpoint = await getEndpoint(kv, id);
  if (endpoint) cache.set(id, endpoint, now);
  else cache.delete(id);
  return endpoint;
}

/**
 * What a listing needs of an endpoint without reading it, kept as the KV key's metadata (at most 1024 bytes): the
 * listings over every endpoint (secrets in use, product lines, modules) cost one KV list per 1,000 endpoints.
 */
export type EndpointSummary = {
  moduleId: string;
  productLineId: string;
  secrets: string[];
  enabled: boolean;
  watch?: EndpointConfig['watch'];
};

function summaryOf(config: EndpointConfig): EndpointSummary {
  const summary: EndpointSummary = {
    moduleId: config.crm.moduleId,
    productLineId: config.crm.productLineId,
    secrets: endpointSecretNames(config),
    enabled: config.enabled,
  };
  return config.watch ? { ...summary, watch: config.watch } : summary;
}

/** Writes an endpoint with a fresh revision (so isolates recompile its expressions). */
export async function putEndpoint(kv: KVNamespace, id: string, config: EndpointConfig): Promise<StoredEndpoint> {
  const stored: StoredEndpoint = { id, revision: crypto.randomUUID(), updatedAt: new Date().toISOString(), config };
  await kv.put(keyOf(id), JSON.stringify(stored), { metadata: summaryOf(config) });
  cache.delete(id);
  return stored;
}

/** Every endpoint id, sorted (KV list only). */
export async function listEndpointIds(kv: KVNamespace): Promise<string[]> {
  return (await listEndpointSummaries(kv)).map((e) => e.id);
}

/**
 * Every endpoint's summary, sorted by id: KV lists only (1,000 keys each), plus a read for an endpoint stored before
 * summaries existed (its next save writes one).
 */
export async function listEndpointSummaries(kv: KVNamespace): Promise<(EndpointSummary & { id: string })[]> {
  const out: (EndpointSummary & { id: string })[] = [];
  const missing: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list<EndpointSummary>({ prefix: PREFIX, cursor });
    for (const key of page.keys) {
      const id = key.name.slice(PREFIX.length);
      if (key.metadata && Array.isArray(key.metadata.secrets)) out.push({ id, ...key.metadata });
      else missing.push(id);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  const read = await Promise.all(missing.map((id) => getEndpoint(kv, id).catch(() => null)));
  for (const e of read) if (e) out.push({ id: e.id, ...summaryOf(e.config) });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The most endpoints one page reads (one KV read each: a production invocation allows 1,000 KV operations). */
export const MAX_PAGE = 200;

/** One page of endpoints, sorted by id (one KV list, one read per endpoint); `next` is the cursor of the page after. */
export async function listEndpointsPage(
  kv: KVNamespace,
  options: { limit: number; cursor?: string },
): Promise<{ endpoints: StoredEndpoint[]; next: string | null }> {
  const limit = Math.min(Math.max(1, options.limit), MAX_PAGE);
  const page = await kv.list({ prefix: PREFIX, limit, ...(options.cursor ? { cursor: options.cursor } : {}) });
  const read = await Promise.all(page.keys.map((key) => getEndpoint(kv, key.name.slice(PREFIX.length))));
  return {
    endpoints: read.filter((e): e is StoredEndpoint => e !== null),
    next: page.list_complete ? null : page.cursor,
  };
}

/** Lists every endpoint, sorted by id: one KV read each, for what needs every configuration (the cron, tests). */
export async function listEndpoints(kv: KVNamespace): Promise<StoredEndpoint[]> {
  const endpoints = await Promise.all((await listEndpointIds(kv)).map((id) => getEndpoint(kv, id)));
  return endpoints.filter((e): e is StoredEndpoint => e !== null);
}

/** Deletes an endpoint; `false` when there was none. */
export async function deleteEndpoint(kv: KVNamespace, id: string): Promise<boolean> {
  const existing = await kv.get(keyOf(id));
  if (existing === null) return false;
  await kv.delete(keyOf(id));
  cache.delete(id);
  return true;
}
