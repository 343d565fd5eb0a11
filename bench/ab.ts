/**
 * `npm run bench:ab -- <git ref>`: the CPU of one big webhook, before (the ref) and after (the working tree), side by
 * side. Each side is built as it ships and runs in its own workerd process with its own floors (bench/worker.ts);
 * the rounds are interleaved, and each process's own CPU is read from /proc, so both sides meet the same minutes of
 * the machine. Reports each side over its forward+D1 floor and over its forward-only floor, and after minus before,
 * round by round (trimmed means). AB_KIB (default 100), AB_TEXT (`latin` or `chinese`), AB_ROUNDS (default 30).
 * The ref is checked out into a temporary git worktree; node_modules is shared. The worktree, the processes and their
 * storage are removed at the end, also when the run fails.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCrmStub } from '../tools/crm-stub/server.ts';
import { newTenant } from '../tools/crm-stub/state.ts';
import { trimmedMean } from './load.ts';
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
const SECRETS = {
  CRM_API_TOKEN: 'bench-crm-token',
  ADMIN_TOKEN: 'bench-admin-token',
  BENCH_HMAC_SECRET: 'bench-hmac-secret',
};
const ROWS = ['adapter', 'floorD1', 'floorForward'] as const;

type Side = { name: 'before' | 'after'; url: string; pid: number };

const home = process.cwd();
// undone in reverse order whatever happens: the worktree, the stand-in CRM, each side's workerd and its storage
// (on tmpfs, which is memory: a run leaves none behind)
const cleanups: (() => unknown)[] = [];
try {
  const before = mkdtempSync(path.join(os.tmpdir(), 'crm-ab-'));
  cleanups.push(() => rmSync(before, { recursive: true, force: true }));
  execFileSync('git', ['worktree', 'add', '--detach', before, ref], { stdio: 'inherit' });
  cleanups.push(() => execFileSync('git', ['worktree', 'remove', '--force', before]));
  symlinkSync(path.join(home, 'node_modules'), path.join(before, 'node_modules'));
  console.log(JSON.stringify(await compare(before), null, 2));
} finally {
  process.chdir(home);
  for (const cleanup of cleanups.reverse()) await cleanup();
}
process.exit(0);

/**
 * Both sides, measured in interleaved rounds: each side over its floors, and after minus before (trimmed means, ms).
 */
async function compare(before: string) {
  const crm = await startCrmStub({ token: SECRETS.CRM_API_TOKEN, record: false });
  cleanups.push(() => crm.close());
  crm.tenants.set(
    PRODUCT_LINE,
    newTenant(PRODUCT_LINE, { customers: [{ id: CUSTOMER_ID, name: '吴九', phone: '13900139000' }] }),
  );
  const sides = [await startSide('before', before, 8781, crm.url), await startSide('after', home, 8782, crm.url)];

  const big = payload(200, KIB * 1024, TEXT);
  const body = JSON.stringify(big);
  const signature = `sha256=${createHmac('sha256', SECRETS.BENCH_HMAC_SECRET).update(body).digest('hex')}`;
  // the CRM body the adapter sends for it: what the floors forward (and store)
  const crmBody = crmBodyFor(big);
  const request = (side: Side, row: (typeof ROWS)[number]) =>
    row === 'adapter'
      ? send(`${side.url}/hooks/ab`, { 'content-type': 'application/json', 'x-signature': signature }, body)
      : send(
          `${side.url}/__floor/${row === 'floorD1' ? 'forward-d1' : 'forward'}`,
          { 'content-type': 'application/json' },
          crmBody,
        );

  for (const side of sides) for (const row of ROWS) for (let i = 0; i < 200; i++) await request(side, row); // warm
  const perRound: Record<string, number[]> = Object.fromEntries(
    sides.flatMap((side) => ROWS.map((row) => [`${side.name}.${row}`, []])),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of sides) {
      for (const row of ROWS) {
        const start = workerdCpuByPid().get(side.pid)!;
        for (let i = 0; i < PER_ROUND; i++) await request(side, row);
        perRound[`${side.name}.${row}`]!.push((workerdCpuByPid().get(side.pid)! - start) / PER_ROUND);
      }
    }
  }

  const ms = (xs: number[]) => Math.round(trimmedMean(xs) * 1000) / 1000;
  const minus = (a: number[], b: number[]) => a.map((x, i) => x - b[i]!);
  const over = (side: string, floor: string) => minus(perRound[`${side}.adapter`]!, perRound[`${side}.${floor}`]!);
  return {
    ref,
    body: `${KIB} KiB, ${TEXT}`,
    rounds: ROUNDS,
    cpuMsPerWebhook: { before: ms(perRound['before.adapter']!), after: ms(perRound['after.adapter']!) },
    overForwardD1Floor: { before: ms(over('before', 'floorD1')), after: ms(over('after', 'floorD1')) },
    overForwardFloor: { before: ms(over('before', 'floorForward')), after: ms(over('after', 'floorForward')) },
    afterMinusBefore: ms(minus(over('after', 'floorD1'), over('before', 'floorD1'))),
  };
}

/**
 * One side: its tree built as it ships, in its own workerd process (the one that appeared), with the endpoint saved.
 */
async function startSide(name: Side['name'], dir: string, port: number, crmUrl: string): Promise<Side> {
  const running = new Set(workerdCpuByPid().keys());
  const storage = benchStorageRoot(`crm-ab-${name}`);
  if (storage) cleanups.push(() => rmSync(storage, { recursive: true, force: true }));
  // each side builds and migrates from its own tree (startAdapter reads wrangler.toml and migrations/ from the working
  // directory)
  process.chdir(dir);
  const { url, mf } = await startAdapter(
    port,
    { ...SECRETS, CRM_BASE_URL: crmUrl },
    {
      floors: { crmUrl, productLine: PRODUCT_LINE, crmToken: SECRETS.CRM_API_TOKEN },
      persistRoot: storage,
      outdir: 'bench/out/ab',
    },
  );
  process.chdir(home);
  cleanups.push(() => mf.dispose());
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
  return { name, url, pid };
}

async function send(url: string, headers: Record<string, string>, text: string) {
  const res = await fetch(url, { method: 'POST', headers, body: text });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
}
