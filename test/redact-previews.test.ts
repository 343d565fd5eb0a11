/**
 * Previews never show what `redact` hides (issue "No lead lost to a sender's mistake", item 6): the endpoint preview,
 * the preview of a logged delivery's replay (its body kept unmasked for the replay itself) and the editor's preview
 * and "Send a test" all mask the redacted values wherever they reappear (the view, the CRM body, the messages).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, call, crmState, deliveryRow, drive, hook, leadJson, setupEndpoint } from './helpers';

const REDACT = { redact: ['mobile', 'name'] };
const PHONE_FORMS = ['13900139000', '8613900139000', '139-0013-9000'];
const admin = (path: string, body?: string) =>
  call(
    new Request(`https://adapter.test/admin${path}`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      ...(body ? { body } : {}),
    }),
  );

function expectHidden(text: string) {
  for (const form of PHONE_FORMS) expect(text).not.toContain(form);
  expect(text).not.toContain('吴九');
}

describe('previews under redact', () => {
  it('the endpoint preview masks the redacted phone and name in the view and in the CRM body it would send', async () => {
    const { endpointId } = await setupEndpoint(REDACT);
    const res = await admin(`/endpoints/${endpointId}/preview`, leadJson());
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ outcome: 'would_deliver' });
    expectHidden(text);
    expect(text).toContain('***');
  });

  it("a logged delivery's replay preview masks them too (the body kept for the replay is the real one)", async () => {
    const { endpointId } = await setupEndpoint(REDACT);
    const sent = await (await call(hook(endpointId, leadJson()))).json<{ deliveryId: string }>();
    expect(String((await deliveryRow(sent.deliveryId))!.raw_body)).toContain('139-0013-9000');
    const res = await admin(`/deliveries/${sent.deliveryId}/preview`);
    expect(res.status).toBe(200);
    expectHidden(await res.text());
  });

  it('without redact the preview shows the values (the masking is the endpoint’s choice)', async () => {
    const { endpointId } = await setupEndpoint();
    const text = await (await admin(`/endpoints/${endpointId}/preview`, leadJson())).text();
    expect(text).toContain('13900139000');
  });
});

describe('a redacted body near 1 MiB', () => {
  it('is stored in a row within production D1’s 2,000,000 bytes, delivered, and replayed whole', async () => {
    const { endpointId, productLineId } = await setupEndpoint({ ...REDACT, maxBodyBytes: 1024 * 1024 });
    const comment = '想了解价格'.repeat(68_000); // 1,020,000 bytes of UTF-8
    const body = leadJson({ comment });
    expect(new TextEncoder().encode(body).byteLength).toBeGreaterThan(1_000_000);
    const sent = await call(hook(endpointId, body));
    expect(sent.status).toBe(200);
    const { deliveryId } = await sent.json<{ deliveryId: string }>();
    const size = await env.DB.prepare(
      `SELECT ${[
        'payload',
        'raw_body',
        'request_headers',
        'request_query',
        'crm_request',
        'crm_response',
        'warnings',
        'message',
        'crm_message',
      ]
        .map((c) => `coalesce(length(CAST(${c} AS BLOB)), 0)`)
        .join(' + ')} AS bytes FROM deliveries WHERE id = ?`,
    )
      .bind(deliveryId)
      .first<{ bytes: number }>();
    expect(size!.bytes).toBeLessThan(2_000_000);
    const row = (await deliveryRow(deliveryId))!;
    expect(String(row.warnings)).toContain('payload shown shortened');
    expectHidden(String(row.payload));
    // the body kept for replay is whole: a replay sends the whole comment again
    const replay = await admin(`/deliveries/${deliveryId}/replay`);
    expect(replay.status).toBeLessThan(300);
    await drive([(await replay.json<{ deliveryId: string }>()).deliveryId]);
    const notes = (await crmState(productLineId)).requests.map((r) => (r.body as { note?: string }).note);
    expect(notes.filter((n) => n === comment)).toHaveLength(2);
  });
});
