/**
 * The built Worker in workerd through Miniflare (the runtime `wrangler dev` uses, without its
 * development proxy, which adds about 9 ms to every request on this machine): the bundle from
 * `wrangler deploy --dry-run`, bindings from wrangler.toml, in-memory KV/D1/Queues, migrations applied.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from 'wrangler';

export async function startAdapter(port: number, vars: Record<string, string>, options: { assets?: boolean; outdir?: string } = {}): Promise<{ url: string; mf: Miniflare }> {
  const outdir = options.outdir ?? 'bench/out/build';
  const build = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], { stdio: 'inherit', env: { ...process.env, CI: 'true' } });
  if (build.status !== 0) throw new Error('wrangler deploy --dry-run failed');
  const { workerOptions } = unstable_getMiniflareWorkerOptions('wrangler.toml');
  // module rules are not needed (the bundle is one file); static assets (the OpenAPI file, the console's
  // stylesheet and script) only when asked for: the benchmark does not serve them
  const { assets, modulesRules: _rules, ...rest } = workerOptions as typeof workerOptions & { assets?: unknown; modulesRules?: unknown };
  const worker = {
    ...rest,
    ...(options.assets ? { assets } : {}),
    name: 'crm-webhook-adapter',
    modules: true,
    scriptPath: `${outdir}/index.js`,
    bindings: { ...(rest.bindings ?? {}), ...vars },
  };
  const mf = new Miniflare(convertV4MiniflareOptions({ host: '127.0.0.1', port, workers: [worker] } as unknown as Parameters<typeof convertV4MiniflareOptions>[0]));
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const db = await mf.getD1Database('DB');
  for (const file of readdirSync('migrations')
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    for (const statement of unstable_splitSqlQuery(readFileSync(`migrations/${file}`, 'utf8'))) await db.prepare(statement).run();
  }
  return { url, mf };
}
