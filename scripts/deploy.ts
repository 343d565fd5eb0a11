/**
 * `npm run deploy`: the first deploy and every later one, idempotent.
 *   1. creates the delivery queue and its dead-letter queue when they are missing;
 *   2. creates the D1 database when it is missing, and applies its migrations remotely *before* the new code
 *      goes live (a migration that fails stops here: the running Worker keeps the schema it knows);
 *   3. `wrangler deploy` (the KV namespace is provisioned by wrangler on the first deploy);
 *   4. lists the secrets still missing (the adapter's own, and with ADMIN_TOKEN in the environment, each endpoint's).
 * Calls `wrangler` from PATH (`npm run` puts the project's own first); tests put a stand-in there.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CONFIG = readFileSync('wrangler.toml', 'utf8');
const QUEUES = [...new Set([...CONFIG.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1]!))];
const DATABASE = /^\s*database_name\s*=\s*"([^"]+)"/m.exec(CONFIG)?.[1] ?? 'crm-webhook-adapter';
/** The adapter's own secrets; each endpoint names its own (verify.secret). */
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

/** Runs wrangler, showing its output; stops the deploy when it fails. */
function must(args: string[], what: string): Run {
  const r = wrangler(args);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0) fail(`${what} failed (wrangler ${args.join(' ')}, exit ${r.status}): nothing was deployed after this step`);
  return r;
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

function ensureDatabase() {
  const list = must(['d1', 'list', '--json'], 'listing D1 databases');
  let names: string[] = [];
  try {
    names = (JSON.parse(list.stdout) as { name: string }[]).map((d) => d.name);
  } catch {
    fail(`wrangler d1 list --json printed something that is not JSON: ${list.stdout.slice(0, 200)}`);
  }
  if (names.includes(DATABASE)) console.log(`D1 database ${DATABASE}: exists`);
  else must(['d1', 'create', DATABASE], `creating D1 database ${DATABASE}`);
  must(['d1', 'migrations', 'apply', DATABASE, '--remote'], 'applying D1 migrations');
}

/** The Worker's URL as `wrangler deploy` prints it (workers.dev or a route), if any. */
const urlOf = (deployOutput: string) => /https:\/\/[^\s]+\.workers\.dev/.exec(deployOutput)?.[0];

async function missingSecrets(workerUrl: string | undefined): Promise<string[]> {
  const list = wrangler(['secret', 'list', '--format', 'json']);
  let present: string[] = [];
  try {
    present = (JSON.parse(list.stdout) as { name: string }[]).map((s) => s.name);
  } catch {
    console.warn('could not read `wrangler secret list`; listing every required secret');
  }
  const missing = Object.keys(REQUIRED_SECRETS)
    .filter((name) => !present.includes(name))
    .map((name) => `${name}: ${REQUIRED_SECRETS[name]}`);
  const adminToken = process.env.ADMIN_TOKEN;
  if (workerUrl && adminToken) {
    try {
      const res = await fetch(`${workerUrl}/admin/secrets`, { headers: { authorization: `Bearer ${adminToken}` } });
      const body = (await res.json()) as { secrets?: { name: string; source: string; usedBy?: string[] }[] };
      for (const s of body.secrets ?? []) if (s.source === 'missing') missing.push(`${s.name}: named by endpoint ${(s.usedBy ?? []).join(', ')}`);
    } catch (err) {
      console.warn(`could not ask ${workerUrl}/admin/secrets which endpoint secrets are missing: ${(err as Error).message}`);
    }
  } else {
    missing.push("(each endpoint's own secret: run again with ADMIN_TOKEN in the environment to check them, or GET /admin/secrets)");
  }
  return missing;
}

ensureQueues();
ensureDatabase();
const deployed = must(['deploy'], 'wrangler deploy');
const missing = await missingSecrets(urlOf(deployed.stdout));
const real = missing.filter((m) => !m.startsWith('('));
if (real.length === 0) {
  console.log(`\ndeployed; no secret is missing.${missing.length ? ` ${missing[0]}` : ''}`);
} else {
  console.log(`\ndeployed. Secrets still missing (wrangler secret put NAME):\n${missing.map((m) => `  ${m}`).join('\n')}`);
}
