/**
 * Refused, but kept for review (issue "No lead lost to a sender's mistake", item 3): a webhook refused for its token
 * or signature keeps its body (masked under redact), an admin accepts it (admin API or the console's button, after a
 * confirmation), and it is delivered as if verified, the accepter on the row. Never automatic.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUES } from '../src/console/i18n';
import {
  ADMIN,
  call,
  type ConsoleSession,
  consoleForm,
  consoleSignIn,
  crmState,
  CUSTOMER_ID,
  deliveryRow,
  drive,
  hook,
  leadJson,
  setupEndpoint,
} from './helpers';

const BASE = 'https://adapter.test';
const ZH = { 'accept-language': 'zh-CN,zh;q=0.9', accept: 'text/html' };
const accept = (id: string) =>
  call(new Request(`${BASE}/admin/deliveries/${id}/accept`, { method: 'POST', headers: ADMIN }));

async function refusedLead(overrides = {}, query = '?token=a-wrong-token') {
  const setup = await setupEndpoint(overrides);
  const res = await call(hook(setup.endpointId, leadJson({ comment: '被拒收的线索' }), { query }));
  expect(res.status).toBe(401);
  const { deliveryId } = await res.json<{ deliveryId: string }>();
  return { ...setup, deliveryId };
}

describe('a wrong-token lead', () => {
  it('is kept for review, and an admin who accepts it has it delivered, recorded on the row', async () => {
    const { productLineId, deliveryId } = await refusedLead();
    const refused = (await deliveryRow(deliveryId))!;
    expect(refused).toMatchObject({ status: 'rejected', reason: 'credential_mismatch', verified: 0 });
    expect(String(refused.warnings)).toContain('kept for review');
    expect((await crmState(productLineId)).requests).toHaveLength(0);
    const listed = await (await call(new Request(`${BASE}/admin/deliveries/${deliveryId}`, { headers: ADMIN }))).json<{
      reviewable: boolean;
      replayable: boolean;
    }>();
    expect(listed).toMatchObject({ reviewable: true, replayable: false });

    const res = await accept(deliveryId);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ deliveryId, status: 'queued', acceptedBy: 'admin (admin API)' });
    await drive([deliveryId]);
    const row = (await deliveryRow(deliveryId))!;
    expect(row).toMatchObject({
      status: 'delivered',
      customer_id: CUSTOMER_ID,
      verified: 1,
      accepted_by: 'admin (admin API)',
    });
    expect(row.accepted_at).toBeTypeOf('number');
    expect((await crmState(productLineId)).requests.map((r) => r.body.note)).toEqual(['被拒收的线索']);
    // accepted once: a second accept is refused, and nothing more reaches the CRM
    const again = await accept(deliveryId);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'not_reviewable' } });
  });

  it('a missing token is kept the same way', async () => {
    const { deliveryId } = await refusedLead({}, '');
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'rejected', reason: 'missing_credential' });
    expect((await accept(deliveryId)).status).toBe(202);
  });

  it('under redact the row shows the masked lead, and accepting delivers the real phone', async () => {
    const { productLineId, deliveryId } = await refusedLead({ redact: ['mobile'] });
    const row = (await deliveryRow(deliveryId))!;
    expect(String(row.payload)).not.toContain('13900139000');
    expect(JSON.parse(String(row.payload)).mobile).toBe('139****9000');
    await accept(deliveryId);
    await drive([deliveryId]);
    expect((await crmState(productLineId)).requests[0]!.body).toMatchObject({ phone: '13900139000' });
  });

  it('only such refusals can be accepted: a delivered webhook, an unknown id', async () => {
    const { endpointId } = await setupEndpoint();
    const ok = await (await call(hook(endpointId, leadJson()))).json<{ deliveryId: string }>();
    const res = await accept(ok.deliveryId);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'not_reviewable' } });
    expect((await accept('01m8zzzzzzzzzzzzzzzzzzzzzz')).status).toBe(404);
  });

  it('is never accepted automatically: the cron and the replay of everything leave it refused', async () => {
    const { productLineId, deliveryId } = await refusedLead();
    const replayAll = await call(
      new Request(`${BASE}/admin/deliveries/replay`, {
        method: 'POST',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'rejected' }),
      }),
    );
    expect(await replayAll.json()).toMatchObject({ queued: 0 });
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'rejected', verified: 0 });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });
});

describe('the console’s review', () => {
  const signIn = consoleSignIn;
  const post = (path: string, s: ConsoleSession, fields: Record<string, string>) => call(consoleForm(path, s, fields));

  it('says what was wrong and how to fix it at the sender, and accepts only once the admin confirms', async () => {
    const { productLineId, deliveryId } = await refusedLead();
    const s = await signIn();
    const page = await (
      await call(new Request(`${BASE}/console/deliveries/${deliveryId}`, { headers: { cookie: s.cookie, ...ZH } }))
    ).text();
    const r = CATALOGUES.zh.deliveries.review;
    for (const text of [r.title, r.fix, r.confirm, r.accept]) expect(page).toContain(text);
    expect(page).toContain(`/console/deliveries/${deliveryId}/accept`);
    // without the confirmation: refused, nothing queued
    const unconfirmed = await post(`/console/deliveries/${deliveryId}/accept`, s, {});
    expect(unconfirmed.status).toBe(400);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'rejected' });
    const res = await post(`/console/deliveries/${deliveryId}/accept`, s, { confirm: 'yes' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/deliveries/${deliveryId}?done=accepted`);
    await drive([deliveryId]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered', accepted_by: 'admin (console)' });
    expect((await crmState(productLineId)).requests).toHaveLength(1);
    const after = await (
      await call(new Request(`${BASE}/console/deliveries/${deliveryId}`, { headers: { cookie: s.cookie, ...ZH } }))
    ).text();
    expect(after).toContain(CATALOGUES.zh.deliveries.facts.acceptedText('admin (console)'));
    expect(after).not.toContain(`>${r.accept}</button>`);
  });
});
