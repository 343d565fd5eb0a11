/**
 * `npm run dev`: the adapter in `wrangler dev` (local KV and D1, migrations applied) beside the
 * stand-in CRM, with the example endpoint `landing` stored, then a curl to paste.
 * Ports: PORT (adapter, 8787) and CRM_PORT (stand-in CRM, 8788).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { startCrmStub } from '../test/crm-stub/server.ts';
import { newTenant } from '../test/crm-stub/state.ts';

const PORT = Number(process.env.PORT ?? 8787);
const CRM_PORT = Number(process.env.CRM_PORT ?? 8788);
const PRODUCT_LINE = '688051545102614528';
const CUSTOMER = '688346218203447296';

// Local secrets: .dev.vars is what wrangler dev reads; create it once with development values.
if (!existsSync('.dev.vars')) {
  writeFileSync(
    '.dev.vars',
    ['CRM_API_TOKEN=dev-crm-token', 'ADMIN_TOKEN=dev-admin-token', `SECRETS_KEY=dev-${crypto.randomUUID()}`, 'LANDING_FORM_TOKEN=dev-form-token', ''].join('\n'),
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

const crm = await startCrmStub({ token: vars.CRM_API_TOKEN ?? 'dev-crm-token', port: CRM_PORT });
crm.tenants.set(
  PRODUCT_LINE,
  newTenant(PRODUCT_LINE, { customers: [{ id: CUSTOMER, name: '单单', phone: '18888282822', note: '', own_id: '400000000000000002', source: '514465485002113024' }] }),
);
console.log(`stand-in CRM on ${crm.url} (product line ${PRODUCT_LINE}, customer ${CUSTOMER})`);

const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], { stdio: 'inherit', env: { ...process.env, CI: 'true' } });
if (migrate.status !== 0) {
  await crm.close();
  process.exit(migrate.status ?? 1);
}

const wrangler = spawn('npx', ['wrangler', 'dev', '--port', String(PORT), '--ip', '127.0.0.1', '--var', `CRM_BASE_URL:${crm.url}`, '--var', `TURNSTILE_VERIFY_URL:${crm.url}/turnstile/v0/siteverify`], { stdio: 'inherit' });
const stop = async () => {
  wrangler.kill('SIGINT');
  await crm.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
wrangler.on('exit', async (code) => {
  await crm.close();
  process.exit(code ?? 0);
});

const base = `http://127.0.0.1:${PORT}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 600) throw new Error('wrangler dev did not start');
  await new Promise((r) => setTimeout(r, 100));
}

const put = await fetch(`${base}/admin/endpoints/landing`, {
  method: 'PUT',
  headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
  body: readFileSync('examples/landing.json', 'utf8'),
});
if (!put.ok) console.error(`could not store the example endpoint: ${put.status} ${await put.text()}`);

console.log(`
The adapter is on ${base}, with the example endpoint "landing" (examples/landing.json). Update a customer:

  curl -X POST '${base}/hooks/landing?token=${formToken}' \\
    -H 'content-type: application/json' \\
    -d '{"crm_id":${CUSTOMER},"name":"吴九","mobile":"+86 139-0013-9000","level":"A","comment":"想了解价格","utm_campaign":"spring"}'

Then see what was delivered:

  curl -H 'authorization: Bearer ${adminToken}' ${base}/admin/deliveries

or in the console: http://localhost:${PORT}/console (admin token: ${adminToken})
`);
