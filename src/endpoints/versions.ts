/**
 * Endpoint versions (the `endpoint_versions` table's SQL): every save of a configuration is a numbered version with
 * who saved it and when; a restore saves an old one again as a new version. The last KEEP_VERSIONS are kept.
 */
import type { EndpointConfig } from './schema';

export const KEEP_VERSIONS = 100;

export type Version = {
  endpointId: string;
  n: number;
  config: EndpointConfig;
  savedBy: string;
  savedAt: number;
  restoredFrom: number | null;
};

type Row = {
  endpoint_id: string;
  n: number;
  config: string;
  saved_by: string;
  saved_at: number;
  restored_from: number | null;
};
const fromRow = (r: Row): Version => ({
  endpointId: r.endpoint_id,
  n: r.n,
  config: JSON.parse(r.config),
  savedBy: r.saved_by,
  savedAt: r.saved_at,
  restoredFrom: r.restored_from,
});

/** Stores a saved configuration as the endpoint's next version; returns its number. */
export async function addVersion(
  db: D1Database,
  endpointId: string,
  config: EndpointConfig,
  by: string,
  now: number,
  restoredFrom: number | null = null,
): Promise<number> {
  const [inserted] = await db.batch<{ n: number }>([
    db
      .prepare(
        `INSERT INTO endpoint_versions (endpoint_id, n, config, saved_by, saved_at, restored_from)
         VALUES (?1, COALESCE((SELECT MAX(n) FROM endpoint_versions WHERE endpoint_id = ?1), 0) + 1, ?2, ?3, ?4, ?5)
         RETURNING n`,
      )
      .bind(endpointId, JSON.stringify(config), by, now, restoredFrom),
    db
      .prepare(
        `DELETE FROM endpoint_versions
         WHERE endpoint_id = ?1 AND n <= (SELECT MAX(n) FROM endpoint_versions WHERE endpoint_id = ?1) - ?2`,
      )
      .bind(endpointId, KEEP_VERSIONS),
  ]);
  return inserted!.results[0]!.n;
}

export async function listVersions(db: D1Database, endpointId: string): Promise<Omit<Version, 'config'>[]> {
  const { results } = await db
    .prepare(
      `SELECT endpoint_id, n, 'null' AS config, saved_by, saved_at, restored_from FROM endpoint_versions
       WHERE endpoint_id = ? ORDER BY n DESC`,
    )
    .bind(endpointId)
    .all<Row>();
  return results.map(fromRow).map(({ config: _c, ...v }) => v);
}

export async function getVersion(db: D1Database, endpointId: string, n: number): Promise<Version | null> {
  const row = await db
    .prepare('SELECT * FROM endpoint_versions WHERE endpoint_id = ? AND n = ?')
    .bind(endpointId, n)
    .first<Row>();
  return row ? fromRow(row) : null;
}

export type Change = { path: string; before: unknown; after: unknown };

/** The leaves of a configuration as `path → value` (arrays whole). */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
    if (Object.keys(value).length === 0 && prefix) out.set(prefix, {});
  } else if (prefix) out.set(prefix, value);
  return out;
}

/** What changed from one configuration to another, leaf by leaf (field rules, verification, delivery settings …). */
export function diffConfigs(before: unknown, after: unknown): Change[] {
  const a = leaves(before, '', new Map());
  const b = leaves(after, '', new Map());
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p)))
    .map((p) => ({ path: p, before: a.get(p), after: b.get(p) }));
}
