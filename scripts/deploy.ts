/**
 * `npm run deploy`: the first deploy and every later one, idempotent. Two Workers share one D1 database, one KV
 * namespace and one queue: the webhook Worker (wrangler.toml) and the console Worker (wrangler.console.toml).
 *   1. creates the delivery queue and its dead-letter queue when they are missing;
 *   2. creates the D1 database when it is missing, and applies its migrations remotely *before* the new code
 *      goes live (a migration that fails stops here: the running Worker keeps the schema it knows);
 *   3. finds the KV namespace (the id wrangler wrote into wrangler.toml, else by its title) or creates it;
 *   4. writes both configs with those ids filled in (.deploy/, not committed) and deploys the console Worker,
 *      then the webhook Worker (its CONSOLE service binding needs the console to exist);
 *   5. lists the secrets still missing on each Worker (and with ADMIN_TOKEN in the environment, each endpoint's).
 * Calls `wrangler` from PATH (`npm run` puts the project's own first); tests put a stand-in there.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { sentences } from '../src/shared/text.ts';

const CONFIG = readFileSync('wrangler.toml', 'utf8');
const CONSOLE_CONFIG = readFileSync('wrangler.console.toml', 'utf8');
const CONSOLE_WORKER = /^name\s*=\s*"([^"]+)"/m.exec(CONSOLE_CONFIG)?.[1] ?? 'crm-webhook-adapter-console';
const KV_TITLE = 'crm-webhook-adapter-endpoints';
const QUEUES = [
  ...new Set([...CONFIG.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1]!)),
];
const DATABASE = /^\s*database_name\s*=\s*"([^"]+)"/m.exec(CONFIG)?.[1] ?? 'crm-webhook-adapter';
/** The adapter's own secrets, on both Workers; each endpoint names its own (verify.secret), on the webhook Worker. */
const REQUIRED_SECRETS: Record<string, string> = {
  CRM_API_TOKEN: 'the CRM API token the adapter updates customers with',
  ADMIN_TOKEN: 'the bearer token of the admin API and the console sign-in',
  SECRETS_KEY: '32+ random characters that encrypt secrets set through PUT /admin/secrets',
};

type Run = { status: number; stdout: string; stderr: string };

function wrangler(args: string[], show = true): Run {
  if (show) console.log(`$ wrangler ${args.join(' ')}`);
  const r = spawnSync('wrangler', args, { encoding: 'utf8', stdio: ['inherit', 'pipe', 'pipe'] });
  if (r.error) fail(`could not run wrangler: ${r.error.message}`);
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** What wrangler says when nobody is signed in to Cloudflare (interactive or not). */
const NOT_SIGNED_IN =
  /not authenticated|not logged in|wrangler login|CLOUDFLARE_API_TOKEN|Authentication error|\[code: 10000\]/i;
const SIGN_IN_FIRST = sentences(
  'not signed in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run deploy` again;',
  'nothing was deployed',
);

/** Runs wrangler, showing its output; stops the deploy when it fails, naming a missing sign-in as the cause. */
function must(args: string[], what: string): Run {
  const r = wrangler(args);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0 && NOT_SIGNED_IN.test(`${r.stdout}${r.stderr}`)) fail(SIGN_IN_FIRST);
  if (r.status !== 0)
    fail(`${what} failed (wrangler ${args.join(' ')}, exit ${r.status}): nothing was deployed after this step`);
  return r;
}

/** Before anything else: a deploy without a Cloudflare sign-in stops here, with the one line that fixes it. */
function signedIn(): void {
  const r = wrangler(['whoami'], false);
  if (r.status !== 0 || NOT_SIGNED_IN.test(`${r.stdout}${r.stderr}`)) fail(SIGN_IN_FIRST);
}

function fail(message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(1);
}

function ensureQueues() {
  for (const queue of QUEUES) {
    // `queues info` fails for a queue that does not exist (and for a missing login, which `create` then reports)
    if (wrangler(['queues', 'info', queue]).status === 0) console.log(`queue ${queue}: exists`);
    else must(['queues', 'create', queue], `creating queue ${queue}`);
  }
}

function jsonList<T>(run: Run, what: string): T[] {
  try {
    return JSON.parse(run.stdout) as T[];
  } catch {
    return fail(`${what} printed something that is not JSON: ${run.stdout.slice(0, 200)}`);
  }
}

/** The database's id (created when missing), after its migrations are applied. */
function ensureDatabase(): string {
  const find = () =>
    jsonList<{ name: string; uuid: string }>(
      must(['d1', 'list', '--json'], 'listing D1 databases'),
      'wrangler d1 list --json',
    ).find((d) => d.name === DATABASE);
  let db = find();
  if (db) console.log(`D1 database ${DATABASE}: exists`);
  else {
    must(['d1', 'create', DATABASE], `creating D1 database ${DATABASE}`);
    db = find() ?? fail(`D1 database ${DATABASE} was created but is not listed`);
  }
  must(['d1', 'migrations', 'apply', DATABASE, '--remote'], 'applying D1 migrations');
  return db.uuid;
}

/**
 * The endpoints' KV namespace: the id wrangler wrote back into wrangler.toml on an earlier deploy, else ours by title.
 */
function ensureNamespace(): string {
  const written = /binding\s*=\s*"ENDPOINTS"\s*\n\s*id\s*=\s*"([0-9a-f]+)"/.exec(CONFIG)?.[1];
  if (written) return written;
  const find = () =>
    jsonList<{ id: string; title: string }>(
      must(['kv', 'namespace', 'list'], 'listing KV namespaces'),
      'wrangler kv namespace list',
    ).find((n) => n.title === KV_TITLE);
  const found = find();
  if (found) {
    console.log(`KV namespace ${KV_TITLE}: exists`);
    return found.id;
  }
  must(['kv', 'namespace', 'create', KV_TITLE], `creating KV namespace ${KV_TITLE}`);
  return (find() ?? fail(`KV namespace ${KV_TITLE} was created but is not listed`)).id;
}

/** A copy of a config with the shared resources' ids filled in, in .deploy/ (paths made relative to it). */
function withIds(config: string, file: string, ids: { database: string; namespace: string }): string {
  const text = config
    .replace(/^\s*database_id\s*=.*\n/m, '')
    .replace(/^(\s*binding\s*=\s*"ENDPOINTS"\s*\n)\s*id\s*=.*\n/m, '$1')
    .replace(/^(\s*database_name\s*=.*)$/m, `$1\ndatabase_id = "${ids.database}"`)
    .replace(/^(\s*binding\s*=\s*"ENDPOINTS"\s*)$/m, `$1\nid = "${ids.namespace}"`)
    .replace(/^(\s*(?:main|directory|migrations_dir)\s*=\s*")/gm, '$1../');
  mkdirSync('.deploy', { recursive: true });
  writeFileSync(`.deploy/${file}`, text);
  return `.deploy/${file}`;
}

/** The Worker's URL as `wrangler deploy` prints it (workers.dev or a route), if any. */
const urlOf = (deployOutput: string) => /https:\/\/[^\s]+\.workers\.dev/.exec(deployOutput)?.[0];

/** The adapter's own secrets missing on one Worker, as lines naming the command that sets each. */
function missingOn(worker: string | undefined): string[] {
  const list = wrangler(['secret', 'list', '--format', 'json', ...(worker ? ['--name', worker] : [])]);
  let present: string[] = [];
  try {
    present = (JSON.parse(list.stdout) as { name: string }[]).map((s) => s.name);
  } catch {
    console.warn('could not read `wrangler secret list`; listing every required secret');
  }
  return Object.keys(REQUIRED_SECRETS)
    .filter((name) => !present.includes(name))
    .map((name) => {
      const where = worker ? ` on the console (wrangler secret put ${name} --name ${worker})` : '';
      return `${name}${where}: ${REQUIRED_SECRETS[name]}`;
    });
}

async function missingSecrets(workerUrl: string | undefined): Promise<string[]> {
  const missing = [...missingOn(undefined), ...missingOn(CONSOLE_WORKER)];
  const adminToken = process.env.ADMIN_TOKEN;
  if (workerUrl && adminToken) {
    try {
      const res = await fetch(`${workerUrl}/admin/secrets`, { headers: { authorization: `Bearer ${adminToken}` } });
      const body = (await res.json()) as { secrets?: { name: string; source: string; usedBy?: string[] }[] };
      for (const s of body.secrets ?? [])
        if (s.source === 'missing') missing.push(`${s.name}: named by endpoint ${(s.usedBy ?? []).join(', ')}`);
    } catch (err) {
      console.warn(
        `could not ask ${workerUrl}/admin/secrets which endpoint secrets are missing: ${(err as Error).message}`,
      );
    }
  } else {
    missing.push(
      sentences(
        "(each endpoint's own secret:",
        'run again with ADMIN_TOKEN in the environment to check them, or GET /admin/secrets)',
      ),
    );
  }
  return missing;
}

signedIn();
ensureQueues();
const ids = { database: ensureDatabase(), namespace: ensureNamespace() };
must(['deploy', '-c', withIds(CONSOLE_CONFIG, 'wrangler.console.toml', ids)], 'deploying the console Worker');
const deployed = must(['deploy', '-c', withIds(CONFIG, 'wrangler.toml', ids)], 'deploying the webhook Worker');
const missing = await missingSecrets(urlOf(deployed.stdout));
const real = missing.filter((m) => !m.startsWith('('));
if (real.length === 0) {
  console.log(`\ndeployed; no secret is missing.${missing.length ? ` ${missing[0]}` : ''}`);
} else {
  console.log(
    `\ndeployed. Secrets still missing (wrangler secret put NAME):\n${missing.map((m) => `  ${m}`).join('\n')}`,
  );
}
