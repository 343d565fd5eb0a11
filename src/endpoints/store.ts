import { StoredEndpoint, type EndpointConfig } from './schema';

/** KV key of an endpoint configuration; the version prefix lets a later layout live beside this one. */
const PREFIX = 'v1:endpoint:';
const keyOf = (id: string) => `${PREFIX}${id}`;

/** Reads one endpoint; `null` when absent. A stored value that no longer validates is an error, not "absent". */
export async function getEndpoint(kv: KVNamespace, id: string): Promise<StoredEndpoint | null> {
  const raw = await kv.get(keyOf(id), 'json');
  if (raw === null) return null;
  return StoredEndpoint.parse(raw);
}

/** Writes an endpoint with a fresh revision (so isolates recompile its expressions). */
export async function putEndpoint(kv: KVNamespace, id: string, config: EndpointConfig): Promise<StoredEndpoint> {
  const stored: StoredEndpoint = { id, revision: crypto.randomUUID(), updatedAt: new Date().toISOString(), config };
  await kv.put(keyOf(id), JSON.stringify(stored));
  return stored;
}

/** Lists every endpoint, sorted by id. */
export async function listEndpoints(kv: KVNamespace): Promise<StoredEndpoint[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: PREFIX, cursor });
    names.push(...page.keys.map((k) => k.name.slice(PREFIX.length)));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  const endpoints = await Promise.all(names.map((id) => getEndpoint(kv, id)));
  return endpoints.filter((e): e is StoredEndpoint => e !== null).sort((a, b) => a.id.localeCompare(b.id));
}

/** Deletes an endpoint; `false` when there was none. */
export async function deleteEndpoint(kv: KVNamespace, id: string): Promise<boolean> {
  const existing = await kv.get(keyOf(id));
  if (existing === null) return false;
  await kv.delete(keyOf(id));
  return true;
}
