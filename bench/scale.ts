/**
 * `npm run bench:scale`: the log's write path at scale, simulated locally. One D1 database (Miniflare, storage on
 * tmpfs) receives delivery rows the way the adapter writes them today (one INSERT per webhook, each its own write)
 * and the way the scale plan would (rows gathered through a Queue and written by one statement per batch, the rows
 * passed as one JSON parameter and expanded with json_each, since D1 allows 100 bound parameters per statement).
 * Prints rows per second for each, in the same run. README "Scale" reads it; the figures are local (SQLite in
 * workerd's process), so only the ratio between the two paths carries over to D1.
 *
 * Then the storage layout's trade, row by row: the same delivery rows (1.5 KiB and 100 KiB bodies) into two empty
 * copies of `deliveries`, one as migrated (WITHOUT ROWID: the row lives in its primary key's b-tree), one an ordinary
 * rowid table (the row, plus an entry for its TEXT primary key): rows written per row from D1's own
 * `meta.rows_written`, and the time per row.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_splitSqlQuery } from 'wrangler';
import { benchStorageRoot, persistOptions } from './storage.ts';

const ROWS = Number(process.env.SCALE_ROWS ?? 4000);
const PER_BATCH = Number(process.env.SCALE_BATCH ?? 100);
const root = benchStorageRoot('crm-scale');

// The Worker under test: writes `n` rows either one statement each (awaited one after another, as separate
// webhooks do) or in statements of `per` rows. Columns as the adapter fills them for a delivered webhook.
const script = `
const COLUMNS = ['id','endpoint_id','status','received_at','finished_at','duration_ms','customer_id','request_method','content_type','payload','payload_bytes','crm_request','crm_http_status','crm_code','crm_response','crm_duration_ms','mode','verified','attempts','run_attempts'];
function row(i, payload) {
  const id = (Date.now().toString(32) + i.toString(32).padStart(8, '0') + 'abcdefgh').padEnd(26, '0').slice(0, 26);
  return [id, 'landing', 'delivered', Date.now(), Date.now(), 40, '688346218203447296', 'POST', 'application/json', payload, payload.length,
    '{"url":"https://crm.example.com/api/moduleData/update","body":' + payload + '}', 200, 200, '{"code":200,"message":"","data":{"item":{"id":"688346218203447296"}}}', 35, 'sync', 1, 1, 1];
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n'));
    const per = Number(url.searchParams.get('per') || 1);
    const table = 'deliveries' + (url.searchParams.get('table') ? '_' + url.searchParams.get('table') : '');
    const payload = JSON.stringify({ name: '吴九', mobile: '13900139000', note: 'x'.repeat(Number(url.searchParams.get('bytes') || 1500)) });
    const started = Date.now();
    let written = 0;
    if (per === 1) {
      const sql = 'INSERT INTO ' + table + ' (' + COLUMNS.join(',') + ') VALUES (' + COLUMNS.map(() => '?').join(',') + ')';
      for (let i = 0; i < n; i++) written += (await env.DB.prepare(sql).bind(...row(i, payload)).run()).meta.rows_written;
    } else {
      const sql = 'INSERT INTO deliveries (' + COLUMNS.join(',') + ') SELECT ' + COLUMNS.map((_, k) => "json_extract(j.value, '$[" + k + "]')").join(',') + ' FROM json_each(?) j';
      for (let i = 0; i < n; i += per) {
        const rows = [];
        for (let k = i; k < Math.min(n, i + per); k++) rows.push(row(k + 1e6, payload));
        await env.DB.prepare(sql).bind(JSON.stringify(rows)).run();
      }
    }
    const ms = Date.now() - started;
    const { n: count } = await env.DB.prepare('SELECT COUNT(*) AS n FROM ' + table).first();
    return Response.json({ ms, count, written });
  },
};`;

const options = {
  modules: true,
  script,
  compatibilityDate: '2026-11-01',
  d1Databases: { DB: 'scale-db' },
  ...persistOptions(root),
};
const mf = new Miniflare(
  convertV4MiniflareOptions(options as unknown as Parameters<typeof convertV4MiniflareOptions>[0]),
);
const db = await mf.getD1Database('DB');
for (const file of readdirSync('migrations')
  .filter((f) => f.endsWith('.sql'))
  .sort()) {
  for (const statement of unstable_splitSqlQuery(readFileSync(`migrations/${file}`, 'utf8')))
    await db.prepare(statement).run();
}

async function run(per: number) {
  const t = performance.now();
  const res = await mf.dispatchFetch(`http://scale/?n=${ROWS}&per=${per}`);
  const body = (await res.json()) as { ms: number; count: number };
  const seconds = (performance.now() - t) / 1000;
  return {
    per,
    rows: ROWS,
    seconds: Math.round(seconds * 100) / 100,
    rowsPerSecond: Math.round(ROWS / seconds),
    total: body.count,
  };
}

// Two empty copies of the table, with the same indexes: as migrated (WITHOUT ROWID), and as an ordinary rowid table.
type SchemaRow = { type: string; sql: string };
const schema = await db
  .prepare("SELECT type, sql FROM sqlite_master WHERE tbl_name = 'deliveries' AND sql IS NOT NULL")
  .all<SchemaRow>();
const tableFirst = (schema.results as SchemaRow[]).sort((a, b) =>
  a.type === 'table' ? -1 : b.type === 'table' ? 1 : 0,
);
for (const [suffix, rowid] of [
  ['migrated', false],
  ['rowid', true],
] as const) {
  for (const { type, sql } of tableFirst) {
    const copy =
      type === 'table'
        ? rowid
          ? sql.replace(/\)\s*WITHOUT ROWID\s*$/i, ')')
          : sql
        : sql.replace(/INDEX (\w+)/, `INDEX $1_${suffix}`);
    await db.prepare(copy.replace(/\bdeliveries\b/, `deliveries_${suffix}`)).run();
  }
}

/**
 * One INSERT per row into an empty copy of `deliveries` (as migrated, or as a rowid table): milliseconds and rows
 * written per row.
 */
async function layout(table: 'migrated' | 'rowid', bytes: number, rows: number) {
  const res = await mf.dispatchFetch(`http://scale/?n=${rows}&per=1&table=${table}&bytes=${bytes}`);
  const body = (await res.json()) as { ms: number; written: number };
  return {
    msPerRow: Math.round((body.ms / rows) * 1000) / 1000,
    rowsWrittenPerRow: Math.round((body.written / rows) * 100) / 100,
  };
}

// warm up SQLite and the Worker, then each path on the same database
await run(1);
const single = await run(1);
const batched = await run(PER_BATCH);
const LAYOUT_ROWS = Number(process.env.SCALE_LAYOUT_ROWS ?? 1000);
const layouts: Record<string, unknown> = {};
for (const bytes of [1500, 100 * 1024]) {
  // interleaved in halves, so that neither layout meets a busier machine or a fuller tmpfs alone
  const parts = {
    withoutRowid: [] as { msPerRow: number; rowsWrittenPerRow: number }[],
    rowid: [] as { msPerRow: number; rowsWrittenPerRow: number }[],
  };
  for (let half = 0; half < 2; half++) {
    parts.withoutRowid.push(await layout('migrated', bytes, LAYOUT_ROWS / 2));
    parts.rowid.push(await layout('rowid', bytes, LAYOUT_ROWS / 2));
  }
  const mean = (xs: { msPerRow: number; rowsWrittenPerRow: number }[]) => ({
    msPerRow: Math.round(((xs[0]!.msPerRow + xs[1]!.msPerRow) / 2) * 1000) / 1000,
    rowsWrittenPerRow: (xs[0]!.rowsWrittenPerRow + xs[1]!.rowsWrittenPerRow) / 2,
  });
  layouts[`${bytes}B`] = { withoutRowid: mean(parts.withoutRowid), rowid: mean(parts.rowid) };
}
console.log(
  JSON.stringify(
    {
      storage: root ? 'tmpfs' : 'temporary directory',
      single,
      batched,
      ratio: Math.round((batched.rowsPerSecond / single.rowsPerSecond) * 10) / 10,
      layouts,
    },
    null,
    2,
  ),
);
await mf.dispose();
if (root) rmSync(root, { recursive: true, force: true });
