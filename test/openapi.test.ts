/** The OpenAPI document: current (generated from the same zod schemas) and complete (every admin route). */
import { describe, expect, it } from 'vitest';
import { admin } from '../src/admin';
import { buildOpenApi } from '../src/admin/openapi-doc';
import served from '../assets/openapi.json';
import { ADMIN, call } from './helpers';

describe('GET /admin/openapi.json', () => {
  it('is the document generated from the current schemas (else run npm run openapi)', () => {
    expect(served).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });
  it('documents every admin route, and nothing that is not one', () => {
    const routes = new Set(
      admin.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method} /admin${r.path.replace(/\/$/, '')}`.replace(/:(\w+)/g, '{$1}')),
    );
    const documented = new Set(
      Object.entries(served.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => m !== 'parameters')
          .map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect([...routes].sort()).toEqual([...documented].sort());
  });
  it('is served to an admin, as OpenAPI 3.1 with the endpoint configuration schema', async () => {
    const res = await call(new Request('https://adapter.test/admin/openapi.json', { headers: ADMIN }));
    expect(res.status).toBe(200);
    const doc = await res.json<{
      openapi: string;
      components: { schemas: { EndpointConfig: { properties: Record<string, unknown> } } };
    }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas.EndpointConfig.properties)).toEqual(
      expect.arrayContaining(['preset', 'verify', 'fields', 'delivery', 'update', 'customerLookup']),
    );
  });
});
