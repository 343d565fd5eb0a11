/**
 * Hardening: bounded cost and no leaked secrets, each through the Worker's real handlers (workerd, real KV and D1,
 * the stand-in CRM over HTTP). Each test breaks one thing and fails without its fix.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, call } from './helpers';

const BASE = 'https://adapter.test';
/** A body without a Content-Length: the limit must hold while the body is read. */
const streamOf = (bytes: number) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const chunk = new TextEncoder().encode('t'.repeat(16 * 1024));
      for (let sent = 0; sent < bytes; sent += chunk.byteLength) controller.enqueue(chunk);
      controller.close();
    },
  });

describe('body limits on the console and the admin API', () => {
  it('refuses an 80 KB sign-in with 413 before the token is checked (declared length)', async () => {
    const res = await call(
      new Request(`${BASE}/console/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${'x'.repeat(80 * 1024)}` }),
    );
    expect(res.status).toBe(413);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });
  it('refuses it while reading when no length is declared', async () => {
    const res = await call(new Request(`${BASE}/console/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: streamOf(80 * 1024) }));
    expect(res.status).toBe(413);
  });
  it('still signs in with a normal form', async () => {
    const res = await call(
      new Request(`${BASE}/console/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=test-admin-token' }),
    );
    expect(res.status).toBe(303);
  });
  it('refuses an admin body over 2 MiB with 413, and lets an import up to 10 MiB through the limit', async () => {
    const big = await call(new Request(`${BASE}/admin/endpoints/x`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: streamOf(3 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    const csv = `customer_id,key,value\n${'688346218203447296,phone,13800138000\n'.repeat(80_000)}`;
    expect(csv.length).toBeGreaterThan(2 * 1024 * 1024);
    const imported = await call(
      new Request(`${BASE}/admin/customer-keys?moduleId=347772778973233152`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'text/csv' }, body: csv }),
    );
    expect(imported.status).toBe(200);
  });
});
