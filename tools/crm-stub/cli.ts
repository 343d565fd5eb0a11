/**
 * Runs the stand-in CRM on its own: `node tools/crm-stub/cli.ts [--port 8788] [--token dev-crm-token] [--seed]`.
 * `--seed` creates the example product line 688051545102614528 with customer 688346218203447296.
 */
import { parseArgs } from 'node:util';
import { startCrmStub } from './server.ts';
import { newTenant } from './state.ts';

export const EXAMPLE_PRODUCT_LINE = '688051545102614528';
export const EXAMPLE_CUSTOMER = '688346218203447296';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8788' },
    token: { type: 'string', default: process.env.CRM_API_TOKEN ?? 'dev-crm-token' },
    mode: { type: 'string', default: 'merge' },
    seed: { type: 'boolean', default: false },
  },
});

const stub = await startCrmStub({ token: values.token, port: Number(values.port) });
if (values.seed) {
  stub.tenants.set(
    EXAMPLE_PRODUCT_LINE,
    newTenant(EXAMPLE_PRODUCT_LINE, {
      mode: values.mode as 'merge',
      customers: [
        {
          id: EXAMPLE_CUSTOMER,
          name: '单单',
          phone: '18888282822',
          note: '',
          own_id: '400000000000000002',
          source: '514465485002113024',
        },
      ],
    }),
  );
}
const seeded = values.seed ? `, product line ${EXAMPLE_PRODUCT_LINE} seeded` : '';
console.log(`stand-in CRM listening on ${stub.url} (token ${values.token}${seeded})`);
process.on('SIGINT', () => stub.close().then(() => process.exit(0)));
process.on('SIGTERM', () => stub.close().then(() => process.exit(0)));
