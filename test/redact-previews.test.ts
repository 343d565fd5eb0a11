/**
 * Previews never show what `redact` hides (issue "No lead lost to a sender's mistake", item 6): the endpoint preview,
 * the preview of a logged delivery's replay (its body kept unmasked for the replay itself) and the editor's preview
 * and "Send a test" all mask the redacted values wherever they reappear (the view, the CRM body, the messages).
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, call, deliveryRow, hook, leadJson, setupEndpoint } from './helpers';

const REDACT = { redact: ['mobile', 'name'] };
const PHONE_FORMS = ['13900139000', '8613900139000', '139-0013-9000'];
const admin = (path: string, body?: string) =>
  call(new Request(`https://adapter.test/admin${path}`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, ...(body ? { body } : {}) }));

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
