/**
 * Secret rotation with a grace window (issue "No lead lost to a sender's mistake", item 4): setting a new value for
 * a stored secret keeps the one it replaces valid for `graceHours` (24 by default, 0 revokes it now), so a sender's
 * retries signed with the old value still land; the row says which value verified; after the window it is refused.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADMIN, call, crmState, deliveryRow, hmacOf, hook, leadJson, setupEndpoint } from './helpers';

type Listed = { secrets: { name: string; previousValidUntil: string | null }[] };
const secretName = () => `ROT_${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
const putSecret = (name: string, body: Record<string, unknown>) =>
  call(
    new Request(`https://adapter.test/admin/secrets/${name}`, {
      method: 'PUT',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
const listed = async (name: string) =>
  (
    await (await call(new Request('https://adapter.test/admin/secrets', { headers: ADMIN }))).json<Listed>()
  ).secrets.find((s) => s.name === name)!;

afterEach(() => vi.useRealTimers());

describe('a rotated token', () => {
  it('accepts the old value during the window (the row says so), the new one always, and refuses the old one after', async () => {
    const name = secretName();
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'token', query: 'token', secret: name },
    });
    expect((await putSecret(name, { value: 'old-token-1111' })).status).toBe(201);
    const set = await putSecret(name, { value: 'new-token-2222' });
    expect(set.status).toBe(200);
    const until = (await set.json<{ previousValidUntil: string }>()).previousValidUntil;
    expect(Date.parse(until) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    expect((await listed(name)).previousValidUntil).toBe(until);

    const old = await call(hook(endpointId, leadJson(), { query: '?token=old-token-1111' }));
    expect(old.status).toBe(200);
    const oldRow = (await deliveryRow((await old.json<{ deliveryId: string }>()).deliveryId))!;
    expect(String(oldRow.warnings)).toContain(`verified with the previous value of ${name}`);
    const fresh = await call(hook(endpointId, leadJson(), { query: '?token=new-token-2222' }));
    const freshRow = (await deliveryRow((await fresh.json<{ deliveryId: string }>()).deliveryId))!;
    expect(freshRow.status).toBe('delivered');
    expect(String(freshRow.warnings ?? '')).not.toContain('previous value');
    expect((await crmState(productLineId)).requests).toHaveLength(2);

    // a day later (the clock moved, not waited for): the old value is refused, the new one still verifies
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse(until) + 1_000);
    const late = await call(hook(endpointId, leadJson(), { query: '?token=old-token-1111' }));
    expect(late.status).toBe(401);
    expect((await deliveryRow((await late.json<{ deliveryId: string }>()).deliveryId))!.reason).toBe(
      'credential_mismatch',
    );
    expect((await call(hook(endpointId, leadJson(), { query: '?token=new-token-2222' }))).status).toBe(200);
    expect((await listed(name)).previousValidUntil).toBeNull();
    expect((await crmState(productLineId)).requests).toHaveLength(3);
  });

  it('graceHours 0 revokes the old value at once', async () => {
    const name = secretName();
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'token', query: 'token', secret: name },
    });
    await putSecret(name, { value: 'leaked-token-3333' });
    const set = await putSecret(name, { value: 'clean-token-4444', graceHours: 0 });
    expect(await set.json()).toMatchObject({ previousValidUntil: null });
    expect((await call(hook(endpointId, leadJson(), { query: '?token=leaked-token-3333' }))).status).toBe(401);
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('refuses a grace window that is negative or longer than 30 days', async () => {
    for (const graceHours of [-1, 721, '24'])
      expect((await putSecret(secretName(), { value: 'x-value-5555', graceHours })).status).toBe(400);
  });
});

describe('a rotated HMAC secret', () => {
  it('a sender retrying with a signature made with the old secret is accepted during the window, and the value is never stored', async () => {
    const name = secretName();
    const { endpointId, productLineId } = await setupEndpoint({
      verify: { type: 'hmac', header: 'x-signature', encoding: 'hex', secret: name },
    });
    await putSecret(name, { value: 'old-hmac-secret-6666' });
    await putSecret(name, { value: 'new-hmac-secret-7777' });
    const body = leadJson();
    const signed = (secret: string) =>
      hmacOf(secret, body, 'hex').then((sig) =>
        call(hook(endpointId, body, { query: '', headers: { 'x-signature': sig } })),
      );
    const retry = await signed('old-hmac-secret-6666');
    expect(retry.status).toBe(200);
    const row = (await deliveryRow((await retry.json<{ deliveryId: string }>()).deliveryId))!;
    expect(String(row.warnings)).toContain('previous value');
    expect(JSON.stringify(row)).not.toContain('old-hmac-secret-6666');
    expect((await signed('forged-secret-8888')).status).toBe(401);
    expect((await crmState(productLineId)).requests).toHaveLength(1);
  });
});
