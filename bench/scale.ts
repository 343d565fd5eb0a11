/**
 * `npm run bench:scale`: the log's write path at scale, simulated locally. One D1 database (Miniflare, storage on
 * tmpfs) receives delivery rows the way the adapter writes them today (one INSERT per webhook, each its own write)
 * and the way the scale plan would (rows gathered through a Queue and written by one statement per batch, the rows
 * passed as one JSON parameter and expanded with json_each, since D1 allows 100 bound parameters per statement).
 * Prints rows per second for each, in the same run. README "Scale" reads it; the figures are local (SQLite in
 * workerd's process), so only the ratio between the two paths carries over to D1.
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
    const payload = JSON.stringify({ name: '吴九', mobile: '13900139000', note: 'x'.repeat(1500) });
    const started = Date.now();
    if (per === 1) {
      const sql = 'INSERT INTO deliveries (' + COLUMNS.join(',') + ') VALUES (' + COLUMNS.map(() => '?').join(',') + ')';
      for (let i = 0; i < n; i++) await env.DB.prepare(sql).bind(...row(i, payload)).run();
    } else {
      const sql = 'INSERT INTO deliveries (' + COLUMNS.join(',') + ') SELECT ' + COLUMNS.map((_, k) => "json_extract(j.value, '$[" + k + "]')").join(',') + ' FROM json_each(?) j';
      for (let i = 0; i < n; i += per) {
        const rows = [];
        for (let k = i; k < Math.min(n, i + per); k++) rows.push(row(k + 1e6, payload));
        await env.DB.prepare(sql).bind(JSON.stringify(rows)).run();
      }
    }
    const { n: count } = await env.DB.prepare('SELECT COUNT(*) AS n FROM deliveries').first();
    return Response.json({ ms: Date.now() - started, count });
  },
};`;

const options = { modules: true, script, compatibilityDate: '2026-11-01', d1Databases: { DB: 'scale-db' }, ...persistOptions(root) };
const mf = new Miniflare(convertV4MiniflareOptions(options as unknown as Parameters<typeof convertV4MiniflareOptions>[0]));
const db = await mf.getD1Database('DB');
for (const file of readdirSync('migrations')
  .filter((f) => f.endsWith('.sql'))
  .sort()) {
  for (const statement of unstable_splitSqlQuery(readFileSync(`migrations/${file}`, 'utf8'))) await db.prepare(statement).run();
}

async function run(per: number) {
  const t = performance.now();
  const res = await mf.dispatchFetch(`http://scale/?n=${ROWS}&per=${per}`);
  const body = (await res.json()) as { ms: number; count: number };
  const seconds = (performance.now() - t) / 1000;
  return { per, rows: ROWS, seconds: Math.round(seconds * 100) / 100, rowsPerSecond: Math.round(ROWS / seconds), total: body.count };
}

// warm up SQLite and the Worker, then each path on the same database
await run(1);
const single = await run(1);
const batched = await run(PER_BATCH);
console.log(
  JSON.stringify({ storage: root ? 'tmpfs' : 'temporary directory', single, batched, ratio: Math.round((batched.rowsPerSecond / single.rowsPerSecond) * 10) / 10 }, null, 2),
);
await mf.dispose();
if (root) rmSync(root, { recursive: true, force: true });
