/**
 * `npm run openapi`: writes assets/openapi.json from the zod schemas. Run by vitest in Node (which resolves the
 * Worker's extensionless imports); outside both typecheck programs for that reason, and checked by
 * test/openapi.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { buildOpenApi } from '../src/admin/openapi-doc';

it('writes assets/openapi.json', () => {
  writeFileSync('assets/openapi.json', `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
});
