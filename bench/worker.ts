/**
 * The built Worker in workerd through Miniflare (the runtime `wrangler dev` uses, without its
 * development proxy, which adds about 9 ms to every request on this machine): the bundle from
 * `wrangler deploy --dry-run`, bindings from wrangler.toml, in-memory KV/D1/Queues, migrations applied.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from 'wrangler';
import { persistOptions } from './storage.ts';

/**
 * The runtime's own floors, in the same Miniflare as the adapter: a Worker that only forwards the body to the CRM
 * (what any adapter must at least do), and one that also writes one D1 row under waitUntil (what logging must at
 * least cost: the body, and the CRM's answer to 8 KiB as the adapter keeps a successful one, so both sides store
 * about the same bytes). The texts are decoded the cheapest way workerd has (TextDecoder; its text() is three times
 * slower on Chinese text), as the adapter decodes them. Reached at /__floor/forward and /__floor/forward-d1 on the
 * adapter's port.
 */
const FLOOR_FORWARD = `export default {
  async fetch(request, env) {
    const res = await fetch(env.CRM_URL, { method: 'POST', headers: { 'content-type': 'application/json', 'default-product-id': env.PRODUCT_LINE, authorization: 'Bearer ' + env.CRM_API_TOKEN }, body: await request.arrayBuffer() });
    return new Response(await res.arrayBuffer(), { status: res.status, headers: { 'content-type': 'application/json' } });
  },
};`;
const FLOOR_FORWARD_D1 = `const utf8 = new TextDecoder();
export default {
  async fetch(request, env, ctx) {
    const body = utf8.decode(await request.arrayBuffer());
    const res = await fetch(env.CRM_URL, { method: 'POST', headers: { 'content-type': 'application/json', 'default-product-id': env.PRODUCT_LINE, authorization: 'Bearer ' + env.CRM_API_TOKEN }, body });
    const answer = utf8.decode(await res.arrayBuffer());
    ctx.waitUntil(env.DB.prepare('INSERT INTO floor_log (id, received_at, payload, answer) VALUES (?, ?, ?, ?)').bind(crypto.randomUUID(), Date.now(), body, answer.slice(0, 8192)).run());
    return new Response(answer, { status: res.status, headers: { 'content-type': 'application/json' } });
  },
};`;

export type Floors = { crmUrl: string; productLine: string; crmToken: string };

/** A Worker of this repository as `wrangler deploy` builds it, with its bindings from its config. */
function builtWorker(
  config: string,
  outdir: string,
  vars: Record<string, string>,
  withAssets: boolean,
): Record<string, unknown> & { serviceBindings?: unknown; compatibilityDate?: string } {
  const build = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '-c', config, '--outdir', outdir], {
    stdio: 'inherit',
    env: { ...process.env, CI: 'true' },
  });
  if (build.status !== 0) throw new Error(`wrangler deploy --dry-run -c ${config} failed`);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  // module rules are not needed (the bundle is one file); static assets (the OpenAPI file, the console's
  // stylesheet and script) only when asked for: the benchmark does not serve them
  const {
    assets,
    modulesRules: _rules,
    ...rest
  } = workerOptions as typeof workerOptions & { assets?: unknown; modulesRules?: unknown };
  return {
    ...rest,
    ...(withAssets ? { assets } : {}),
    modules: true,
    scriptPath: `${outdir}/${config === CONSOLE_CONFIG ? 'worker' : 'index'}.js`,
    bindings: { ...(rest.bindings ?? {}), ...vars },
  };
}

const CONSOLE_CONFIG = 'wrangler.console.toml';

/**
 * The webhook Worker, and with `console` the console Worker behind its CONSOLE service binding (same D1, KV and
 * Queue: Miniflare shares storage between Workers by binding id).
 */
export async function startAdapter(
  port: number,
  vars: Record<string, string>,
  options: {
    assets?: boolean;
    console?: boolean;
    outdir?: string;
    floors?: Floors;
    persistRoot?: string;
    inspectorPort?: number;
  } = {},
): Promise<{ url: string; mf: Miniflare }> {
  const outdir = options.outdir ?? 'bench/out/build';
  const built = builtWorker('wrangler.toml', outdir, vars, options.assets ?? false);
  const worker = {
    ...built,
    name: 'crm-webhook-adapter',
    serviceBindings: options.console ? built.serviceBindings : {},
  };
  const workers: unknown[] = [worker];
  if (options.console)
    workers.push({
      ...builtWorker(CONSOLE_CONFIG, `${outdir}-console`, vars, true),
      name: 'crm-webhook-adapter-console',
    });
  if (options.floors) {
    const f = options.floors;
    const floorVars = {
      CRM_URL: `${f.crmUrl}/api/moduleData/update`,
      PRODUCT_LINE: f.productLine,
      CRM_API_TOKEN: f.crmToken,
    };
    const common = { modules: true, compatibilityDate: built.compatibilityDate, bindings: floorVars };
    workers.push({ ...common, name: 'floor-forward', script: FLOOR_FORWARD, routes: ['*/__floor/forward'] });
    workers.push({
      ...common,
      name: 'floor-forward-d1',
      script: FLOOR_FORWARD_D1,
      routes: ['*/__floor/forward-d1'],
      d1Databases: { DB: 'floor-db' },
    });
  }
  // `persistRoot`: every resource's storage there (the benchmark puts it on tmpfs), else Miniflare's temporary
  // directory
  const persist = persistOptions(options.persistRoot);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port,
      workers,
      ...persist,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
    } as unknown as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const db = await mf.getD1Database('DB');
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const statement of unstable_splitSqlQuery(readFileSync(`migrations/${file}`, 'utf8')))
      await db.prepare(statement).run();
  }
  if (options.floors) {
    const floorDb = await mf.getD1Database('DB', 'floor-forward-d1');
    await floorDb
      .prepare('CREATE TABLE floor_log (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, payload TEXT, answer TEXT)')
      .run();
  }
  return { url, mf };
}

/** utime + stime of each workerd process this Node process started (Linux /proc), in ms, by pid. */
export function workerdCpuByPid(): Map<number, number> {
  const clk = 100; // USER_HZ on Linux
  const out = new Map<number, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid || !stat.includes('(workerd)')) continue;
      out.set(Number(pid), ((Number(fields[11]) + Number(fields[12])) / clk) * 1000);
    } catch {
      // a process that ended meanwhile
    }
  }
  return out;
}
