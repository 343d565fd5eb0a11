import { StoredEndpoint, type EndpointConfig } from './schema';
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

/** Writes an endpoint with a fresh revision (so isolates recompile its expressions). */
export async function putEndpoint(kv: KVNamespace, id: string, config: EndpointConfig): Promise<StoredEndpoint> {
  const stored: StoredEndpoint = { id, revision: crypto.randomUUID(), updatedAt: new Date().toISOString(), config };
  await kv.put(keyOf(id), JSON.stringify(stored));
  cache.delete(id);
  return stored;
}

/** Every endpoint id, sorted (KV list only). */
export async function listEndpointIds(kv: KVNamespace): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: PREFIX, cursor });
    names.push(...page.keys.map((k) => k.name.slice(PREFIX.length)));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names.sort();
}

/** Lists every endpoint, sorted by id. */
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
