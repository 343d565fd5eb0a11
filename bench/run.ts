/**
 * `npm run bench`: the built adapter in workerd (Miniflare, bench/worker.ts: local KV/D1/Queues, migrations applied)
 * beside the stand-in CRM on loopback. Drives load at concurrency 1, 16 and 64 and reports requests/s and p50/p95/p99
 * for the direct CRM call and each adapter path, with each row's ratio to the direct call, measured in the same run;
 * then the CPU micro-benchmark and the bundle size. Writes bench/results.json and bench/results.md. BENCH_DURATION
 * (seconds per cell, default 5) shortens or lengthens the run.
 */
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { startCrmStub } from '../tools/crm-stub/server.ts';
import { newTenant } from '../tools/crm-stub/state.ts';
import { load, type LoadResult, nextRequest, type Target, trimmedMean, type Variant } from './load.ts';
import { CUSTOMER_ID, CUSTOMER_POOL, crmBodyFor, fields, MODULE_ID, payload } from './payload.ts';
import { benchStorageRoot } from './storage.ts';
import { startAdapter, workerdCpuByPid } from './worker.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 5) * 1000;
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const PORT = Number(process.env.BENCH_PORT ?? 8797);
const PRODUCT_LINE = '688051545102614528';
const SECRETS = {
  CRM_API_TOKEN: 'bench-crm-token',
  ADMIN_TOKEN: 'bench-admin-token',
  BENCH_HMAC_SECRET: 'bench-hmac-secret',
  BENCH_FORM_TOKEN: 'bench-form-token',
};

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, CI: 'true' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
};

// ---- the stand-in CRM and the adapter -------------------------------------------------------
const crm = await startCrmStub({ token: SECRETS.CRM_API_TOKEN, record: false });
crm.tenants.set(
  PRODUCT_LINE,
  newTenant(PRODUCT_LINE, {
    customers: [CUSTOMER_ID, ...CUSTOMER_POOL].map((id) => ({ id, name: '单单', phone: '18888282822' })),
  }),
);

// Storage on tmpfs (bench/storage.ts): SQLite's fsync on a disk blocks workerd's one thread locally, which production
// D1 does not.
const storageRoot = benchStorageRoot('crm-bench');
const STORAGE = storageRoot ? 'tmpfs (/dev/shm)' : 'the temporary directory (no /dev/shm here)';
// The CRM's limits lifted (README "The CRM's limits"): the load measures what the adapter costs, the gate's requests
// included, not the 10 calls a second it lets through by default.
const LIMITS = { CRM_MAX_CONCURRENCY: '1000', CRM_MAX_PER_SECOND: '100000' };
const { url: base, mf } = await startAdapter(
  PORT,
  { ...SECRETS, ...LIMITS, CRM_BASE_URL: crm.url },
  { floors: { crmUrl: crm.url, productLine: PRODUCT_LINE, crmToken: SECRETS.CRM_API_TOKEN }, persistRoot: storageRoot },
);
const admin = { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' };
const crmConfig = { moduleId: MODULE_ID, productLineId: PRODUCT_LINE };
const hmacVerify = { type: 'hmac', header: 'x-signature', prefix: 'sha256=', secret: 'BENCH_HMAC_SECRET' };
const endpoints: Record<string, unknown> = {
  'bench-sync': { name: 'bench sync', crm: crmConfig, verify: hmacVerify, customerId: 'crm_id', fields: fields(20) },
  'bench-form': {
    name: 'bench form',
    crm: crmConfig,
    verify: { type: 'token', query: 'token', secret: 'BENCH_FORM_TOKEN' },
    customerId: 'crm_id',
    fields: fields(20),
  },
  'bench-queue': {
    name: 'bench queue',
    crm: crmConfig,
    verify: hmacVerify,
    customerId: 'crm_id',
    fields: fields(20),
    delivery: 'queue',
  },
  'bench-same': {
    name: 'bench one customer',
    crm: crmConfig,
    verify: hmacVerify,
    customerId: 'crm_id',
    fields: fields(20),
  },
  'bench-5': { name: 'bench 5 fields', crm: crmConfig, verify: hmacVerify, customerId: 'crm_id', fields: fields(5) },
  'bench-200': {
    name: 'bench 200 fields',
    crm: crmConfig,
    verify: hmacVerify,
    customerId: 'crm_id',
    fields: fields(200),
    maxBodyBytes: 1024 * 1024,
  },
};
for (const [id, config] of Object.entries(endpoints)) {
  const res = await fetch(`${base}/admin/endpoints/${id}`, {
    method: 'PUT',
    headers: admin,
    body: JSON.stringify(config),
  });
  if (!res.ok) throw new Error(`PUT ${id}: ${res.status} ${await res.text()}`);
}

// ---- the rows ----------------------------------------------------------------------------------
const lead = payload(20);
const json = JSON.stringify(lead);
const signature = `sha256=${createHmac('sha256', SECRETS.BENCH_HMAC_SECRET).update(json).digest('hex')}`;
const sign = (body: string) => `sha256=${createHmac('sha256', SECRETS.BENCH_HMAC_SECRET).update(body).digest('hex')}`;
/**
 * The same webhook for each customer of the pool, signed: a row's load concerns many customers, as a campaign's does.
 */
const perCustomer = (
  fields: Record<string, string>,
  headers: Record<string, string>,
  encode: (f: Record<string, string>) => string,
  signed = true,
): Variant[] =>
  CUSTOMER_POOL.map((id) => {
    const body = encode({ ...fields, crm_id: id });
    return { body, headers: signed ? { ...headers, 'x-signature': sign(body) } : headers };
  });
const crmBody = crmBodyFor(lead);
const rows: { key: string; label: string; target: Target }[] = [
  {
    key: 'direct',
    label: 'stand-in CRM called directly (the floor)',
    target: {
      url: `${crm.url}/api/moduleData/update`,
      headers: {
        'content-type': 'application/json',
        'default-product-id': PRODUCT_LINE,
        authorization: `Bearer ${SECRETS.CRM_API_TOKEN}`,
      },
      body: crmBody,
    },
  },
  {
    key: 'floorForward',
    label: 'floor: a Worker that only forwards the body to the CRM',
    target: { url: `${base}/__floor/forward`, headers: { 'content-type': 'application/json' }, body: crmBody },
  },
  {
    key: 'floorD1',
    label: 'floor: forward, and write one D1 row under waitUntil',
    target: { url: `${base}/__floor/forward-d1`, headers: { 'content-type': 'application/json' }, body: crmBody },
  },
  {
    key: 'sync',
    label: 'sync webhook: JSON, 20 fields, HMAC, D1 logged',
    target: {
      url: `${base}/hooks/bench-sync`,
      headers: { 'content-type': 'application/json', 'x-signature': signature },
      body: json,
      variants: perCustomer(lead, { 'content-type': 'application/json' }, (f) => JSON.stringify(f)),
    },
  },
  {
    key: 'form',
    label: 'sync webhook: form post, 20 fields, token',
    target: {
      url: `${base}/hooks/bench-form?token=${SECRETS.BENCH_FORM_TOKEN}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(lead).toString(),
      variants: perCustomer(
        lead,
        { 'content-type': 'application/x-www-form-urlencoded' },
        (f) => new URLSearchParams(f).toString(),
        false,
      ),
    },
  },
  {
    key: 'queue',
    label: 'queue mode acknowledgement (202), JSON, HMAC',
    target: {
      url: `${base}/hooks/bench-queue`,
      headers: { 'content-type': 'application/json', 'x-signature': signature },
      body: json,
      expect: 202,
      variants: perCustomer(lead, { 'content-type': 'application/json' }, (f) => JSON.stringify(f)),
    },
  },
  {
    // every webhook for one customer: applied one at a time; under concurrency most wait their turn, and those that
    // cannot get it within 1 s are queued behind it (202, counted as "errors" here)
    key: 'sameCustomer',
    label: 'sync webhook, every one for the same customer (a burst for one person)',
    target: {
      url: `${base}/hooks/bench-same`,
      headers: { 'content-type': 'application/json', 'x-signature': signature },
      body: json,
    },
  },
];

/** A signed JSON webhook to one of the bench endpoints. */
const signed = (endpoint: string, body: string, fieldsOf?: Record<string, string>): Target => ({
  url: `${base}/hooks/${endpoint}`,
  headers: { 'content-type': 'application/json', 'x-signature': sign(body) },
  body,
  // big bodies rotate through fewer customers (each variant is a whole body in memory)
  ...(fieldsOf
    ? { variants: perCustomer(fieldsOf, { 'content-type': 'application/json' }, (f) => JSON.stringify(f)).slice(0, 32) }
    : {}),
});
/**
 * A 200-field webhook padded to `kib` KiB, beside the floors that forward (and store) the CRM body the adapter sends
 * for it: the same size on both sides.
 */
function sizedRows(
  kib: number,
  key: string,
  floorSuffix: string,
  script: 'latin' | 'chinese' = 'latin',
): { key: string; label: string; target: Target }[] {
  const big = payload(200, kib * 1024, script);
  const size = script === 'latin' ? `~${kib} KiB` : `~${kib} KiB of Chinese text`;
  const bigCrmBody = crmBodyFor(big);
  return [
    { key, label: `sync webhook: 200 fields, ${size}, HMAC`, target: signed('bench-200', JSON.stringify(big), big) },
    {
      key: `floorForward${floorSuffix}`,
      label: `floor at ${size}: forward the same CRM body`,
      target: { url: `${base}/__floor/forward`, headers: { 'content-type': 'application/json' }, body: bigCrmBody },
    },
    {
      key: `floorD1_${floorSuffix}`,
      label: `floor at ${size}: forward, and write one D1 row under waitUntil`,
      target: { url: `${base}/__floor/forward-d1`, headers: { 'content-type': 'application/json' }, body: bigCrmBody },
    },
  ];
}
/**
 * Rows measured for CPU only (not under load): the adapter's CPU per webhook at 5 fields, and at 100 and 256 KiB (the
 * default body limit); and 100 KiB of Chinese text, what this CRM's users send.
 */
const cpuRows: { key: string; label: string; target: Target }[] = [
  {
    key: 'size5',
    label: 'sync webhook: 5 fields, HMAC',
    target: signed('bench-5', JSON.stringify(payload(5)), payload(5)),
  },
  ...sizedRows(100, 'size200', '200'),
  ...sizedRows(256, 'size256k', '256k'),
  ...sizedRows(100, 'size200zh', '200zh', 'chinese'),
];
/**
 * The body sizes measured, with their rows: the adapter and its same-size floors. The first two (Latin text) give the
 * free-plan line.
 */
const SIZES = [
  { kib: 100, label: '100 KiB', key: 'size200', forward: 'floorForward200', d1: 'floorD1_200' },
  { kib: 256, label: '256 KiB', key: 'size256k', forward: 'floorForward256k', d1: 'floorD1_256k' },
  { kib: 100, label: '100 KiB of Chinese text', key: 'size200zh', forward: 'floorForward200zh', d1: 'floorD1_200zh' },
];

async function open(status: string, endpoint = 'bench-queue'): Promise<number> {
  const res = await fetch(`${base}/admin/deliveries?endpoint=${endpoint}&status=${status}&limit=200`, {
    headers: admin,
  });
  return ((await res.json()) as { deliveries: unknown[] }).deliveries.length;
}

type Cell = LoadResult & {
  ratioP50?: number;
  ratioRps?: number;
  overForwardP50?: number;
  overD1P50?: number;
  rpsVsForward?: number;
  rpsVsD1?: number;
  drainMs?: number;
};
const results: Record<string, Record<number, Cell>> = {};
for (const c of CONCURRENCY) {
  for (const row of rows) {
    const r = await load(row.target, c, DURATION);
    results[row.key] ??= {};
    results[row.key]![c] = r;
    let extra = '';
    if (row.key === 'queue') {
      const loadEnd = performance.now();
      while ((await open('queued')) + (await open('retrying')) > 0) await new Promise((res) => setTimeout(res, 200));
      results.queue![c]!.drainMs = Math.round(performance.now() - loadEnd);
      extra = `, drained ${results.queue![c]!.drainMs} ms after the load`;
    }
    if (row.key === 'sameCustomer') {
      // what was queued behind the burst (one customer: one at a time) is delivered before the next row is measured
      const loadEnd = performance.now();
      while (
        (await open('queued', 'bench-same')) + (await open('retrying', 'bench-same')) > 0 &&
        performance.now() - loadEnd < 300_000
      )
        await new Promise((res) => setTimeout(res, 200));
      results.sameCustomer![c]!.drainMs = Math.round(performance.now() - loadEnd);
      extra = `, its queued ones drained ${results.sameCustomer![c]!.drainMs} ms after the load`;
    }
    console.log(
      `c=${c} ${row.key}: ${r.rps} req/s, p50 ${r.p50} ms, p95 ${r.p95} ms, p99 ${r.p99} ms, errors ${r.errors}${extra}`,
    );
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  for (const row of rows) {
    const d = results.direct![c]!;
    const fwd = results.floorForward![c]!;
    const d1 = results.floorD1![c]!;
    const r = results[row.key]![c]!;
    r.ratioP50 = round(r.p50 / d.p50);
    r.ratioRps = round(r.rps / d.rps);
    r.overForwardP50 = round(r.p50 / fwd.p50);
    r.overD1P50 = round(r.p50 / d1.p50);
    r.rpsVsForward = round(r.rps / fwd.rps);
    r.rpsVsD1 = round(r.rps / d1.rps);
  }
}
// ---- think time: what one sender sees when webhooks arrive apart (the runtime idle in between) ----------------
const THINK_MS = 20;
const THINK_N = Number(process.env.BENCH_THINK_REQUESTS ?? 300);
const thinkTime: Record<string, { p50: number; p95: number }> = {};
for (const row of rows.filter((r) => r.key !== 'direct' && r.key !== 'queue' && r.key !== 'sameCustomer')) {
  const times: number[] = [];
  for (let i = 0; i < THINK_N; i++) {
    const t = performance.now();
    const sent = nextRequest(row.target);
    const res = await fetch(row.target.url, { method: 'POST', headers: sent.headers, body: sent.body });
    await res.arrayBuffer();
    times.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, THINK_MS));
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 100) / 100;
  thinkTime[row.key] = { p50: at(0.5), p95: at(0.95) };
  console.log(
    `think time ${THINK_MS} ms, ${row.key}: p50 ${thinkTime[row.key]!.p50} ms, p95 ${thinkTime[row.key]!.p95} ms`,
  );
}

// Where the time goes, server side: the adapter's own timings from the last 200 sync deliveries' rows.
const recent = (await (
  await fetch(`${base}/admin/deliveries?endpoint=bench-sync&limit=200`, { headers: admin })
).json()) as {
  deliveries: { durationMs: number; crm: { durationMs: number } }[];
};
const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const serverSide = {
  handlerP50Ms: med(recent.deliveries.map((d) => d.durationMs)),
  crmCallP50Ms: med(recent.deliveries.map((d) => d.crm.durationMs)),
};
console.log('server side (sync rows):', serverSide);

// ---- CPU inside workerd: the workerd process's own CPU time over N sequential requests ----------------------
/** utime + stime of the workerd process Miniflare started (Linux /proc), in ms. */
const workerdCpuMs = () => [...workerdCpuByPid().values()].reduce((a, b) => a + b, 0);
const CPU_N = Number(process.env.BENCH_CPU_REQUESTS ?? 4000);
// The rows are measured in interleaved rounds and each row's trimmed mean over the rounds is reported: the machine's
// load drifts over minutes, and a row measured minutes after its floor was read against a different machine. Many short
// rounds rather than a few long ones: a row and its floor a few seconds apart see the same machine.
const CPU_ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 40);
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const cpuTargets = [
  ...rows.filter((r) => r.key !== 'direct' && r.key !== 'queue' && r.key !== 'sameCustomer'),
  ...cpuRows,
];
const perRound: Record<string, number[]> = Object.fromEntries(cpuTargets.map((r) => [r.key, []]));
for (const row of cpuTargets) await load(row.target, 1, 300); // warm
for (let round = 0; round < CPU_ROUNDS; round++) {
  for (const row of cpuTargets) {
    const n = Math.ceil(CPU_N / CPU_ROUNDS);
    const before = workerdCpuMs();
    for (let i = 0; i < n; i++) {
      const sent = nextRequest(row.target);
      const res = await fetch(row.target.url, { method: 'POST', headers: sent.headers, body: sent.body });
      await res.arrayBuffer();
    }
    perRound[row.key]!.push((workerdCpuMs() - before) / n);
  }
}
const cpuInWorkerd: Record<string, number> = {};
const cpuSpread: Record<string, [number, number]> = {};
/**
 * A row's CPU over its forward+D1 floor, round by round (the same minutes of the machine), and the trimmed mean of
 * those.
 */
const floorOf = (key: string) =>
  SIZES.find((size) => size.key === key)?.d1 ?? (key.startsWith('floor') ? undefined : 'floorD1');
const overFloor: Record<string, number> = {};
/**
 * The middle half of a row's round-by-round differences to its floor (25th to 75th percentile): how much they spread.
 */
const overFloorSpread: Record<string, [number, number]> = {};
for (const row of cpuTargets) {
  const floor = floorOf(row.key);
  if (!floor) continue;
  const diffs = perRound[row.key]!.map((x, i) => x - perRound[floor]![i]!).sort((a, b) => a - b);
  overFloor[row.key] = round3(trimmedMean(diffs));
  overFloorSpread[row.key] = [
    round3(diffs[Math.floor((diffs.length - 1) / 4)]!),
    round3(diffs[Math.ceil(((diffs.length - 1) * 3) / 4)]!),
  ];
}
/**
 * The Worker's CPU in production, bounded from above: everything workerd does for a webhook beyond forwarding the same
 * body (the floor of the same size), round by round. That includes the SQLite work of the row's write, which
 * production D1 does in its own process, so the Worker's billed CPU is below it. Through the two Latin body sizes, a
 * straight line gives the body size that surely fits in the free plan's 10 ms.
 */
const overForward = (key: string, forward: string) =>
  round3(trimmedMean(perRound[key]!.map((x, i) => x - perRound[forward]![i]!)));
const cpuBound: Record<string, number> = { sync: overForward('sync', 'floorForward') };
for (const size of SIZES) cpuBound[size.key] = overForward(size.key, size.forward);
const [small, large] = SIZES.slice(0, 2).map((size) => ({ kib: size.kib, ms: cpuBound[size.key]! }));
const perKib = (large!.ms - small!.ms) / (large!.kib - small!.kib);
const fitsIn10Ms = perKib > 0 ? Math.floor(small!.kib + (10 - small!.ms) / perKib) : null;
console.log('CPU bound:', cpuBound, `${round3(perKib)} ms per KiB; fits in 10 ms up to ${fitsIn10Ms} KiB`);
for (const row of cpuTargets) {
  const xs = perRound[row.key]!;
  cpuInWorkerd[row.key] = round3(trimmedMean(xs));
  cpuSpread[row.key] = [round3(Math.min(...xs)), round3(Math.max(...xs))];
  console.log(`workerd CPU per request, ${row.key}: ${cpuInWorkerd[row.key]} ms (rounds ${xs.map(round3).join(', ')})`);
}
// ---- Durable Objects per webhook: requests and storage rows written, from the coordinator's own counts ----------
type Namespace = { get(id: unknown): unknown; idFromName(name: string): unknown };
const coordinators = (await mf.getDurableObjectNamespace('COORDINATOR')) as unknown as Namespace;
type Usage = { requests: number; rowsWritten: number; storageWrites: number };
const coordinatorUsage = async () =>
  (await (coordinators.get(coordinators.idFromName('crm')) as { usage(): Promise<Usage> }).usage()) as Usage;
async function doCostPerWebhook(endpoint: string, expect: number): Promise<{ requests: number; rowsWritten: number }> {
  const ids = CUSTOMER_POOL.slice(0, 100);
  const before = await coordinatorUsage();
  for (const id of ids) {
    const body = JSON.stringify({ ...lead, crm_id: id });
    const res = await fetch(`${base}/hooks/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': sign(body) },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== expect) throw new Error(`${endpoint}: ${res.status}`);
  }
  if (endpoint === 'bench-queue')
    while ((await open('queued')) + (await open('retrying')) > 0) await new Promise((res) => setTimeout(res, 100));
  const after = await coordinatorUsage();
  const per = (n: number) => Math.round((n / ids.length) * 100) / 100;
  return {
    requests: per(after.requests - before.requests),
    rowsWritten: per(after.rowsWritten - before.rowsWritten + after.storageWrites - before.storageWrites),
  };
}
const durableObjects = {
  sync: await doCostPerWebhook('bench-sync', 200),
  queue: await doCostPerWebhook('bench-queue', 202),
};
console.log('Durable Objects per webhook:', durableObjects);

await mf.dispose();
await crm.close();
if (storageRoot) rmSync(storageRoot, { recursive: true, force: true });

// ---- CPU micro-benchmark and bundle ------------------------------------------------------------
sh('npx', ['vitest', 'run', '--project', 'bench-cpu']);
const cpu = JSON.parse(readFileSync('bench/out/cpu.json', 'utf8'));
const { bundleSize } = await import('./bundle.ts');
const bundle = bundleSize('bench/out/build');

// ---- report ----------------------------------------------------------------------------------------
const wranglerVersion = JSON.parse(readFileSync('node_modules/wrangler/package.json', 'utf8')).version;
const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}, wrangler ${wranglerVersion}`;
const report = {
  date: new Date().toISOString(),
  machine,
  durationSeconds: DURATION / 1000,
  load: results,
  serverSide,
  cpuInWorkerd,
  cpuSpread,
  cpuOverFloor: overFloor,
  cpuOverFloorSpread: overFloorSpread,
  cpuPerRound: perRound,
  cpuBoundMs: cpuBound,
  cpuBoundPerKibMs: round3(perKib),
  freePlanBodyKib: fitsIn10Ms,
  thinkTime,
  durableObjects,
  storage: STORAGE,
  rows: [...rows, ...cpuRows].map((r) => ({ key: r.key, label: r.label })),
  cpu,
  bundle,
};
writeFileSync('bench/results.json', `${JSON.stringify(report, null, 2)}\n`);

const lines: string[] = [];
lines.push(
  '# Benchmark results',
  '',
  `Run ${report.date} on ${machine}. ${DURATION / 1000} s per cell after a 0.5 s warm-up; closed-loop keep-alive HTTP client (bench/load.ts). Miniflare's storage (D1, KV, queues) on ${STORAGE}.`,
  '',
);
lines.push('## Load: adapter vs the direct CRM call, same run', '');
lines.push(
  "The two floors run in the same Miniflare as the adapter: a Worker that only forwards the body to the stand-in CRM, and one that also writes one D1 row under `waitUntil`. Ratios: p50 over the floor's p50 and req/s over the floor's req/s, at the same concurrency.",
  '',
);
lines.push(
  '| row | concurrency | req/s | p50 ms | p95 ms | p99 ms | errors | p50 / direct | p50 / forward floor | p50 / forward+D1 floor | req/s / forward floor | req/s / forward+D1 floor |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
);
for (const c of CONCURRENCY) {
  for (const row of rows) {
    const r = results[row.key]![c]!;
    const drain = row.key === 'queue' || row.key === 'sameCustomer' ? ` (drained ${r.drainMs} ms after)` : '';
    lines.push(
      `| ${row.label}${drain} | ${c} | ${r.rps} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.errors} | ${r.ratioP50} | ${r.overForwardP50} | ${r.overD1P50} | ${r.rpsVsForward} | ${r.rpsVsD1} |`,
    );
  }
}
lines.push(
  '',
  `Server side, from the sync rows of the last cell (c=${CONCURRENCY[CONCURRENCY.length - 1]}): handler (receipt to answer) p50 ${serverSide.handlerP50Ms} ms, of which the CRM call p50 ${serverSide.crmCallP50Ms} ms (Date.now() in workerd advances only at I/O, so these are I/O-bounded times).`,
);
const fwdCpu = cpuInWorkerd.floorForward ?? 0;
lines.push(
  '',
  `## CPU inside workerd, per request (${CPU_N} sequential requests each, in ${CPU_ROUNDS} interleaved rounds, the trimmed mean of the rounds (a tenth dropped at each end); the workerd process's utime + stime from /proc, 10 ms ticks)`,
  '',
  '| row | workerd CPU ms / request | rounds (min-max) | minus the forward-only floor | over its forward+D1 floor (trimmed mean of the rounds, each against the floor of the same round) | middle half of those rounds (25th-75th percentile) |',
  '|---|---|---|---|---|---|',
  ...Object.entries(cpuInWorkerd).map(([key, ms]) => {
    const [lo, hi] = cpuSpread[key]!;
    const spread = overFloorSpread[key] ? `${overFloorSpread[key][0]} to ${overFloorSpread[key][1]}` : '';
    return `| ${[...rows, ...cpuRows].find((r) => r.key === key)!.label} | ${ms} | ${lo}-${hi} | ${round3(ms - fwdCpu)} | ${overFloor[key] ?? ''}${SIZES.some((size) => size.key === key) ? ' (the same-size floor)' : ''} | ${spread} |`;
  }),
);
lines.push(
  '',
  "**The Worker's CPU, bounded from above** (each row minus the forward-only floor of the same size, round by round; this includes the SQLite work of the row's write, which production D1 does in its own process): " +
    `a typical webhook (20 fields) ${cpuBound.sync} ms; ${SIZES.map((size) => `${size.label} ${cpuBound[size.key]} ms`).join(', ')}; ` +
    `${round3(perKib)} ms per KiB between 100 and 256 KiB, so a body of up to about **${fitsIn10Ms} KiB** surely fits in the free plan's 10 ms.`,
);
lines.push(
  '',
  "## Durable Objects per webhook (the coordinator: each customer's turn and the CRM's limits; its own counts over 100 webhooks, each for another customer)",
  '',
  '| webhook | DO requests | DO storage rows written |',
  '|---|---|---|',
  `| sync, delivered | ${durableObjects.sync.requests} | ${durableObjects.sync.rowsWritten} |`,
  `| queued, delivered by the consumer | ${durableObjects.queue.requests} | ${durableObjects.queue.rowsWritten} |`,
  '',
  `Free plan: 100,000 Durable Object requests a day, so about ${Math.floor(100_000 / durableObjects.sync.requests).toLocaleString('en')} sync webhooks a day.`,
);
const fwdThink = thinkTime.floorForward!;
lines.push(
  '',
  `## With think time: one sender, a webhook every ${THINK_MS} ms (${THINK_N} each; the runtime idle in between, as a real sender sees it)`,
  '',
  '| row | p50 ms | p95 ms | p50 / forward floor |',
  '|---|---|---|---|',
  ...Object.entries(thinkTime).map(
    ([key, t]) =>
      `| ${rows.find((r) => r.key === key)!.label} | ${t.p50} | ${t.p95} | ${Math.round((t.p50 / fwdThink.p50) * 100) / 100} |`,
  ),
);
lines.push(
  '',
  '## Pipeline CPU (parse, verify, map, build the CRM body), in-process, Node',
  '',
  "Wall time per webhook (includes Node's WebCrypto thread-pool hops, which workerd does not have) and CPU time (process.cpuUsage, all threads).",
  '',
  '| payload | cold µs (first after a config change, wall) | warm p50 µs wall | warm p99 µs wall | warm p50 µs CPU | warm p99 µs CPU |',
  '|---|---|---|---|---|---|',
);
for (const [name, r] of Object.entries(
  cpu as Record<string, { cold: number; p50: number; p99: number; cpuP50: number; cpuP99: number; bytes: number }>,
))
  lines.push(`| ${name} (${r.bytes} bytes) | ${r.cold} | ${r.p50} | ${r.p99} | ${r.cpuP50} | ${r.cpuP99} |`);
lines.push(
  '',
  '## Bundle',
  '',
  `\`wrangler deploy --dry-run\` (minify and source maps set in wrangler.toml): ${bundle.file}, ${Math.round(bundle.bytes / 1024)} KiB minified, **${Math.round((bundle.gzip / 1024) * 10) / 10} KiB gzipped** (budget 100 KiB, checked by test/node/bundle.test.ts).`,
  '',
);
const notes = 'bench/notes.md';
if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8'));
writeFileSync('bench/results.md', `${lines.join('\n')}\n`);
console.log(readFileSync('bench/results.md', 'utf8'));
process.exit(0);
