import { defineConfig } from 'vitest/config';

/** `npm run openapi`: runs scripts/openapi.gen.ts in plain Node to write the admin API's OpenAPI document. */
export default defineConfig({ test: { include: ['scripts/openapi.gen.ts'], environment: 'node' } });
