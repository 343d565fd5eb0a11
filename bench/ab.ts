/**
 * `npm run bench:ab -- <git ref>`: the CPU of one big webhook, before (the ref) and after (the working tree), side by
 * side. Each side is built as it ships and runs in its own workerd process with its own floors (bench/worker.ts);
 * the rounds are interleaved, and each process's own CPU is read from /proc, so both sides meet the same minutes of
 * the machine. Reports each side over its forward+D1 floor and over its forward-only floor, and after minus before,
 * round by round (trimmed means). AB_KIB (default 100), AB_TEXT (`latin` or `chinese`), AB_ROUNDS (default 30).
 * The ref is checked out into a temporary git worktree (removed at the end); node_modules is shared.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCrmStub } from '../test/crm-stub/server.ts';
import { newTenant } from '../test/crm-stub/state.ts';
import { CUSTOMER_ID, crmBodyFor, fields, MODULE_ID, payload } from './payload.ts';
import { benchStorageRoot } from './storage.ts';
import { startAdapter, workerdCpuByPid } from './worker.ts';

const ref = process.argv[2];
if (!ref) {
  console.error('usage: npm run bench:ab -- <git ref to compare the working tree with>');
  process.exit(2);
}
const KIB = Number(process.env.AB_KIB ?? 100);
const TEXT = process.env.AB_TEXT === 'chinese' ? 'chinese' : 'latin';
const ROUNDS = Number(process.env.AB_ROUNDS ?? 30);
const PER_ROUND = 100;
const PRODUCT_LINE = '688051545102614528';
const SECRETS = { CRM_API_TOKEN: 'bench-crm-token', ADMIN_TOKEN: 'bench-admin-token', BENCH_HMAC_SECRET: 'bench-hmac-secret' };

const home = process.cwd();
const before = mkdtempSync(path.join(os.tmpdir(), 'crm-ab-'));
execFileSync('git', ['worktree', 'add', '--detach', before, ref], { stdio: 'inherit' });
symlinkSync(path.join(home, 'node_modules'), path.join(before, 'node_modules'));

const crm = await startCrmStub({ token: SECRETS.CRM_API_TOKEN, record: false });
crm.tenants.set(PRODUCT_LINE, newTenant(PRODUCT_LINE, { customers: [{ id: CUSTOMER_ID, name: '吴九', phone: '13900139000' }] }));

type Side = { name: 'before' | 'after'; url: string; pid: number; storage: string | undefined; dispose: () => Promise<void> };
const sides: Side[] = [];
for (const [name, dir, port] of [
  ['before', before, 8781],
  ['after', home, 8782],
] as const) {
  const running = new Set(workerdCpuByPid().keys());
  // each side builds and migrates from its own tree (startAdapter reads wrangler.toml and migrations/ from the working directory)
  process.chdir(dir);
  const storage = benchStorageRoot(`crm-ab-${name}`);
  const { url, mf } = await startAdapter(
    port,
    { ...SECRETS, CRM_BASE_URL: crm.url },
    {
      floors: { crmUrl: crm.url, productLine: PRODUCT_LINE, crmToken: SECRETS.CRM_API_TOKEN },
      persistRoot: storage,
      outdir: 'bench/out/ab',
    },
  );
  process.chdir(home);
  const pid = [...workerdCpuByPid().keys()].find((p) => !running.has(p));
  if (pid === undefined) throw new Error(`no workerd process found for ${name}`);
  const config = {
    name: 'ab',
    crm: { moduleId: MODULE_ID, productLineId: PRODUCT_LINE },
    verify: { type: 'hmac', header: 'x-signature', prefix: 'sha256=', secret: 'BENCH_HMAC_SECRET' },
    customerId: 'crm_id',
    fields: fields(200),
    maxBodyBytes: 1048576,
  };
  const put = await fetch(`${url}/admin/endpoints/ab`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  if (!put.ok) throw new Error(`${name}: endpoint not saved (${put.status})`);
  sides.push({ name, url, pid, storage, dispose: () => mf.dispose() });
}

const big = payload(200, KIB * 1024, TEXT);
const body = JSON.stringify(big);
const signature = `sha256=${createHmac('sha256', SECRETS.BENCH_HMAC_SECRET).update(body).digest('hex')}`;
// the CRM body the adapter sends for it: what the floors forward (and store)
const crmBody = crmBodyFor(big);

async function send(url: string, headers: Record<string, string>, text: string) {
  const res = await fetch(url, { method: 'POST', headers, body: text });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
}
const ROWS = ['adapter', 'floorD1', 'floorForward'] as const;
const request = (side: Side, row: (typeof ROWS)[number]) =>
  row === 'adapter'
    ? send(`${side.url}/hooks/ab`, { 'content-type': 'application/json', 'x-signature': signature }, body)
    : send(`${side.url}/__floor/${row === 'floorD1' ? 'forward-d1' : 'forward'}`, { 'content-type': 'application/json' }, crmBody);

for (const side of sides) for (const row of ROWS) for (let i = 0; i < 200; i++) await request(side, row); // warm
const perRound: Record<string, number[]> = Object.fromEntries(sides.flatMap((side) => ROWS.map((row) => [`${side.name}.${row}`, []])));
for (let round = 0; round < ROUNDS; round++) {
  for (const side of sides) {
    for (const row of ROWS) {
      const start = workerdCpuByPid().get(side.pid)!;
      for (let i = 0; i < PER_ROUND; i++) await request(side, row);
      perRound[`${side.name}.${row}`]!.push((workerdCpuByPid().get(side.pid)! - start) / PER_ROUND);
    }
  }
}

const trimmedMean = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length / 10);
  const kept = sorted.slice(cut, sorted.length - cut);
  return Math.round((kept.reduce((a, b) => a + b, 0) / kept.length) * 1000) / 1000;
};
const minus = (a: number[], b: number[]) => a.map((x, i) => x - b[i]!);
const over = (side: string, floor: string) => minus(perRound[`${side}.adapter`]!, perRound[`${side}.${floor}`]!);
console.log(
  JSON.stringify(
    {
      ref,
      body: `${KIB} KiB, ${TEXT}`,
      rounds: ROUNDS,
      cpuMsPerWebhook: { before: trimmedMean(perRound['before.adapter']!), after: trimmedMean(perRound['after.adapter']!) },
      overForwardD1Floor: { before: trimmedMean(over('before', 'floorD1')), after: trimmedMean(over('after', 'floorD1')) },
      overForwardFloor: { before: trimmedMean(over('before', 'floorForward')), after: trimmedMean(over('after', 'floorForward')) },
      afterMinusBefore: trimmedMean(minus(over('after', 'floorD1'), over('before', 'floorD1'))),
    },
    null,
    2,
  ),
);
// the storage is on tmpfs, which is memory: a run leaves none behind
for (const side of sides) {
  await side.dispose();
  if (side.storage) rmSync(side.storage, { recursive: true, force: true });
}
await crm.close();
execFileSync('git', ['worktree', 'remove', '--force', before]);
rmSync(before, { recursive: true, force: true });
process.exit(0);
