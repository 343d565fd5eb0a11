/**
 * `npm run dev`: the adapter in `wrangler dev` (local KV and D1, migrations applied) beside the
 * stand-in CRM, with the example endpoint `landing` stored the first time, then the commands to paste.
 * Ports: PORT (adapter, 8787) and CRM_PORT (stand-in CRM, 8788). wrangler's start-up output is kept back
 * (and shown only if it fails); what it logs once the adapter answers (requests, console.log) is shown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { startCrmStub } from '../tools/crm-stub/server.ts';
import { newTenant } from '../tools/crm-stub/state.ts';
import { sentences } from '../src/shared/text.ts';

const PORT = Number(process.env.PORT ?? 8787);
const CRM_PORT = Number(process.env.CRM_PORT ?? 8788);
const PRODUCT_LINE = '688051545102614528';
const CUSTOMER = '688346218203447296';

/** One line, then exit: what went wrong and what to do. */
function stop(message: string): never {
  console.error(`npm run dev: ${message}`);
  process.exit(1);
}

/** Whether a TCP port on loopback is free (checked before wrangler gets a chance to print a stack). */
async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

// Local secrets: .dev.vars is what wrangler dev reads; create it once with development values.
if (!existsSync('.dev.vars')) {
  writeFileSync(
    '.dev.vars',
    [
      'CRM_API_TOKEN=dev-crm-token',
      'ADMIN_TOKEN=dev-admin-token',
      `SECRETS_KEY=dev-${crypto.randomUUID()}`,
      'LANDING_FORM_TOKEN=dev-form-token',
      '',
    ].join('\n'),
  );
  console.log('created .dev.vars with development secrets');
}
const vars = Object.fromEntries(
  readFileSync('.dev.vars', 'utf8')
    .split('\n')
    .map((line) => /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
) as Record<string, string>;
const adminToken = vars.ADMIN_TOKEN ?? 'dev-admin-token';
const formToken = vars.LANDING_FORM_TOKEN ?? 'dev-form-token';

if (!(await portFree(PORT)))
  stop(
    sentences(
      `port ${PORT} is in use (another npm run dev?): stop it, or choose another port for the adapter, e.g.`,
      `PORT=8797 npm run dev`,
    ),
  );
const crm = await startCrmStub({ token: vars.CRM_API_TOKEN ?? 'dev-crm-token', port: CRM_PORT }).catch(
  (err: NodeJS.ErrnoException) =>
    stop(
      err.code === 'EADDRINUSE'
        ? `port ${CRM_PORT} is in use: choose another port for the stand-in CRM, e.g. CRM_PORT=8798 npm run dev`
        : `the stand-in CRM did not start: ${err.message}`,
    ),
);
crm.tenants.set(
  PRODUCT_LINE,
  newTenant(PRODUCT_LINE, {
    customers: [
      {
        id: CUSTOMER,
        name: '单单',
        phone: '18888282822',
        note: '',
        own_id: '400000000000000002',
        source: '514465485002113024',
      },
    ],
  }),
);

// Both Workers read the .dev.vars beside their config (`--var` would reach the first one only): the stand-in's
// address goes there, in a block of its own rewritten each run; the rest of the file is the user's.
const STUB_BLOCK = '# npm run dev: the stand-in CRM (this block is rewritten on each run)';
const stubVars = [
  `CRM_BASE_URL=${crm.url}`,
  `TURNSTILE_VERIFY_URL=${crm.url}/turnstile/v0/siteverify`,
  // the stand-in's create call, so an endpoint with "onUnmatched": "create" creates new customers locally
  'CRM_CREATE_PATH=/api/moduleData/add',
];
const own = readFileSync('.dev.vars', 'utf8').split(STUB_BLOCK)[0]!.trimEnd();
writeFileSync('.dev.vars', `${own}\n\n${STUB_BLOCK}\n${stubVars.join('\n')}\n`);

const quiet = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' };
const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], {
  encoding: 'utf8',
  env: quiet,
});
if (migrate.status !== 0) {
  process.stderr.write(migrate.stdout + migrate.stderr);
  await crm.close();
  stop('applying the D1 migrations locally failed (output above)');
}
const names = new Set(migrate.stdout.match(/\d{4}_[\w-]+\.sql/g) ?? []);
const upToDate = /no migrations to apply/i.test(migrate.stdout);
console.log(`D1 (local): ${upToDate ? 'migrations up to date' : `applied ${names.size} migration(s)`}`);

const wrangler = spawn(
  'npx',
  [
    'wrangler',
    'dev',
    '-c',
    'wrangler.toml',
    '-c',
    'wrangler.console.toml',
    '--port',
    String(PORT),
    '--ip',
    '127.0.0.1',
  ],
  {
    stdio: ['inherit', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  },
);
// start-up output is held back until the adapter answers; afterwards wrangler's lines are passed through
let held = '';
let ready = false;
for (const stream of [wrangler.stdout, wrangler.stderr]) {
  stream.on('data', (chunk: Buffer) => {
    if (ready) process.stdout.write(chunk);
    else held += chunk.toString();
  });
}
const shutdown = async () => {
  wrangler.kill('SIGINT');
  await crm.close();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
wrangler.on('exit', async (code) => {
  if (!ready) process.stderr.write(held);
  await crm.close();
  if (!ready) stop(`wrangler dev exited (code ${code}) before the adapter answered (its output above)`);
  process.exit(code ?? 0);
});

const base = `http://127.0.0.1:${PORT}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 900) {
    process.stderr.write(held);
    wrangler.kill('SIGINT');
    stop('wrangler dev did not answer within 90 s (its output above)');
  }
  await new Promise((r) => setTimeout(r, 100));
}

// The example endpoint is stored once; after that it is the user's to edit (console or admin API).
const auth = { authorization: `Bearer ${adminToken}` };
const existing = await fetch(`${base}/admin/endpoints/landing`, { headers: auth });
let example = 'the example endpoint "landing" is stored already (left as it is)';
if (existing.status === 404) {
  const put = await fetch(`${base}/admin/endpoints/landing`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: readFileSync('examples/landing.json', 'utf8'),
  });
  example = put.ok
    ? 'stored the example endpoint "landing" (examples/landing.json)'
    : `could not store the example endpoint: ${put.status} ${await put.text()}`;
} else if (!existing.ok) {
  example = `could not read the example endpoint: ${existing.status} ${await existing.text()}`;
}

console.log(`stand-in CRM: ${crm.url} (product line ${PRODUCT_LINE}, customer ${CUSTOMER})
adapter: ${base}; ${example}

Update a customer:

  curl -X POST '${base}/hooks/landing?token=${formToken}' \\
    -H 'content-type: application/json' \\
    -d '{"crm_id":${CUSTOMER},"name":"吴九","mobile":"+86 139-0013-9000","level":"A","comment":"想了解价格","utm_campaign":"spring"}'

See what was delivered:

  curl -H 'authorization: Bearer ${adminToken}' ${base}/admin/deliveries

Console: http://localhost:${PORT}/console (admin token: ${adminToken}). Ctrl-C stops both.
`);
ready = true;
