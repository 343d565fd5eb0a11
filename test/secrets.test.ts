/** Endpoint secrets set through the admin API: encrypted in KV, write-only, resolved after Worker secrets. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { masterKey, readSecret, writeSecret } from '../src/secrets/vault';
import { ADMIN, call, crmState, hook, leadJson, rowsFor, setupEndpoint, unique } from './helpers';

const secretsApi = (path: string, init: RequestInit = {}) =>
  call(
    new Request(`https://adapter.test/admin/secrets${path}`, {
      ...init,
      headers: { ...ADMIN, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    }),
  );
const putSecret = (name: string, value: unknown) =>
  secretsApi(`/${name}`, { method: 'PUT', body: JSON.stringify({ value }) });
const secretName = () => unique('S').toUpperCase().replace(/-/g, '_');

describe('PUT /admin/secrets/{name}', () => {
  it('stores a secret an endpoint can verify with at once, and never shows its value', async () => {
    const name = secretName();
    const value = `tok-${crypto.randomUUID()}`;
    const put = await putSecret(name, value);
    expect(put.status).toBe(201);
    const putText = await put.text();
    expect(JSON.parse(putText)).toMatchObject({ name, source: 'admin' });
    expect(putText).not.toContain(value);

    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'token', query: 'token', secret: name },
    });
    expect((await call(hook(endpointId, leadJson(), { query: `?token=${value}` }))).status).toBe(200);
    expect((await call(hook(endpointId, leadJson(), { query: '?token=wrong' }))).status).toBe(401);
    expect((await crmState(productLineId)).requests).toHaveLength(1);

    const list = await secretsApi('');
    const listText = await list.text();
    expect(listText).not.toContain(value);
    expect(JSON.parse(listText).secrets).toContainEqual(
      expect.objectContaining({ name, source: 'admin', usedBy: [endpointId] }),
    );
    // there is no route that reads one back
    expect((await secretsApi(`/${name}`)).status).toBe(404);
  });
  it('stores only ciphertext in KV', async () => {
    const name = secretName();
    const value = `plain-${crypto.randomUUID()}`;
    await putSecret(name, value);
    const raw = await env.ENDPOINTS.get(`v1:secret:${name}`);
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(value);
    expect(raw).not.toContain(btoa(value));
  });
  it('answers 200 when replacing a secret', async () => {
    const name = secretName();
    expect((await putSecret(name, 'first-value')).status).toBe(201);
    expect((await putSecret(name, 'second-value')).status).toBe(200);
    expect(await readSecret(env.ENDPOINTS, env.SECRETS_KEY, name)).toMatchObject({ value: 'second-value' });
  });
  it('refuses a name a Worker secret already has (it would be ignored)', async () => {
    const res = await putSecret('TEST_FORM_TOKEN', 'x-value');
    expect(res.status).toBe(409);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('conflict');
  });
  it.each([
    ['a reserved name', 'ADMIN_TOKEN', 'v'],
    ['a lower-case name', 'lower', 'v'],
    ['an empty value', 'EMPTY_VALUE', ''],
    ['a value that is not a string', 'NUMBER_VALUE', 42],
  ])('refuses %s with 400', async (_what, name, value) => {
    const res = await putSecret(name, value);
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('validation_failed');
  });
});

describe('a stored secret that cannot be used', () => {
  it('is refused as misconfigured when its ciphertext was moved under another name', async () => {
    const from = secretName();
    const to = secretName();
    await putSecret(from, 'moved-value');
    await env.ENDPOINTS.put(`v1:secret:${to}`, (await env.ENDPOINTS.get(`v1:secret:${from}`))!);
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'token', query: 'token', secret: to },
    });
    const res = await call(hook(endpointId, leadJson(), { query: '?token=moved-value' }));
    expect(res.status).toBe(503);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('endpoint_misconfigured');
    expect((await rowsFor(endpointId))[0]).toMatchObject({ status: 'failed', reason: 'secret_missing' });
    expect((await rowsFor(endpointId))[0]!.message).toContain('cannot be decrypted');
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
  it('is refused as misconfigured once deleted', async () => {
    const name = secretName();
    await putSecret(name, 'deleted-value');
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    expect((await secretsApi(`/${name}`, { method: 'DELETE' })).status).toBe(204);
    expect((await secretsApi(`/${name}`, { method: 'DELETE' })).status).toBe(404);
    expect((await call(hook(endpointId, leadJson(), { query: '?token=deleted-value' }))).status).toBe(503);
  });
  it('cannot be read under a different SECRETS_KEY, nor without one', async () => {
    const name = secretName();
    await writeSecret(env.ENDPOINTS, 'one-master-key-0123456789abcdef0123456789', name, 'v');
    await expect(readSecret(env.ENDPOINTS, 'another-master-key-0123456789abcdef01234', name)).rejects.toThrow(
      'cannot be decrypted',
    );
    await expect(readSecret(env.ENDPOINTS, undefined, name)).rejects.toThrow('SECRETS_KEY is not set');
  });
  it('needs a SECRETS_KEY of 32 characters or more', () => {
    expect(masterKey({})).toMatchObject({ ok: false });
    expect(masterKey({ SECRETS_KEY: 'short' })).toMatchObject({ ok: false });
    expect(masterKey({ SECRETS_KEY: 'x'.repeat(32) })).toMatchObject({ ok: true });
  });
});

describe('endpoint warnings', () => {
  it('names a secret that is set nowhere, and how to set it', async () => {
    const { putEndpoint, endpointConfig } = await import('./helpers');
    const name = secretName();
    const res = await putEndpoint(
      unique('warn'),
      endpointConfig('1', { verify: { type: 'token', query: 'token', secret: name } }),
    );
    expect((await res.json<{ warnings: string[] }>()).warnings).toEqual([
      expect.stringContaining(`PUT /admin/secrets/${name}`),
    ]);
  });
});

describe('secret cache', () => {
  it('reads a stored secret from KV at most every 10 s per isolate; a PUT through the API takes effect at once', async () => {
    const name = secretName();
    await putSecret(name, 'first-token');
    const { endpointId } = await setupEndpoint({ verify: { type: 'token', query: 'token', secret: name } });
    expect((await call(hook(endpointId, leadJson(), { query: '?token=first-token' }))).status).toBe(200);
    // another location removes it straight from KV: this isolate keeps its copy for a few seconds
    await env.ENDPOINTS.delete(`v1:secret:${name}`);
    expect((await call(hook(endpointId, leadJson(), { query: '?token=first-token' }))).status).toBe(200);
    await putSecret(name, 'second-token');
    expect((await call(hook(endpointId, leadJson(), { query: '?token=first-token' }))).status).toBe(401);
    expect((await call(hook(endpointId, leadJson(), { query: '?token=second-token' }))).status).toBe(200);
  });
});
