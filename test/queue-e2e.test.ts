/**
 * The real local queue end to end: 200 webhooks in queue mode while the stand-in CRM fails a third
 * of the time. The Worker's own consumer (wrangler.toml) takes the messages; the test waits until
 * every delivery is terminal (bounded), then checks that none is missing and none was applied twice.
 */
import { env } from 'cloudflare:workers';
import { expect, it } from 'vitest';
import { call, crmFailures, crmState, hook, leadJson, setupEndpoint } from './helpers';

const COUNT = 200;
/**
 * The webhooks concern this many customers (10 each): each customer's are applied one at a time, customers in parallel.
 */
const CUSTOMERS = 20;

it(`delivers ${COUNT} queued webhooks through a flaky CRM: every one delivered or dead, none twice`, {
  timeout: 120_000,
}, async () => {
  const ids = Array.from({ length: CUSTOMERS }, (_, i) => `68834621820344${String(7000 + i)}`);
  const { endpointId, productLineId } = await setupEndpoint(
    { delivery: { mode: 'queue', schedule: [0], maxAttempts: 4 }, fields: { note: 'comment' } },
    { customers: ids.map((id) => ({ id, name: '旧名字' })) },
  );
  // every third CRM call fails, in each retryable way that applies nothing
  const failures = Array.from({ length: COUNT * 2 }, (_, i) =>
    i % 3 === 0 ? [{ http: 500 }, { http: 503 }, { http: 429 }, { garbage: true }][(i / 3) % 4] : { delayMs: 0 },
  );
  await crmFailures(productLineId, failures);

  const answers = await Promise.all(
    Array.from({ length: COUNT }, async (_, i) => {
      const res = await call(hook(endpointId, leadJson({ crm_id: ids[i % CUSTOMERS], comment: `lead-${i}` })));
      expect(res.status).toBe(202);
      return (await res.json<{ deliveryId: string; status: string }>()).deliveryId;
    }),
  );
  expect(new Set(answers).size).toBe(COUNT);

  // wait (bounded) until the queue has taken every delivery to a terminal state
  let open = COUNT;
  for (let i = 0; i < 1000 && open > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const row = await env.DB.prepare(
      `SELECT COUNT(*) AS n FROM deliveries WHERE endpoint_id = ? AND status IN ('queued', 'retrying')`,
    )
      .bind(endpointId)
      .first<{ n: number }>();
    open = row!.n;
  }
  expect(open).toBe(0);

  const { results } = await env.DB.prepare('SELECT id, status, payload FROM deliveries WHERE endpoint_id = ?')
    .bind(endpointId)
    .all<{ id: string; status: string; payload: string }>();
  expect(results).toHaveLength(COUNT);
  expect(results.map((r) => r.id).sort()).toEqual([...answers].sort());
  // superseded: a newer webhook of its customer was applied first (only when an attempt registers late)
  for (const r of results) expect(['delivered', 'dead', 'superseded']).toContain(r.status);

  // what the CRM applied: each delivered webhook exactly once, each dead or superseded one never
  const applied = new Map<string, number>();
  for (const req of (await crmState(productLineId)).requests) {
    if (req.outcome === 'applied') applied.set(String(req.body.note), (applied.get(String(req.body.note)) ?? 0) + 1);
  }
  for (const r of results) {
    const note = JSON.parse(r.payload).comment as string;
    expect(applied.get(note) ?? 0, `${note} (${r.status})`).toBe(r.status === 'delivered' ? 1 : 0);
  }
  const delivered = results.filter((r) => r.status === 'delivered').length;
  console.log(`queue e2e: ${delivered} delivered, ${COUNT - delivered} dead or superseded`);
  expect(delivered).toBeGreaterThan(COUNT * 0.9);
  // and each customer ends with the last of its webhooks that was delivered (in receipt order)
  const crm = await crmState(productLineId);
  for (const id of ids) {
    const last = results
      .filter((r) => r.status === 'delivered' && JSON.parse(r.payload).crm_id === id)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .at(-1);
    if (last) expect(crm.customers.find((c) => c.id === id)?.note).toBe(JSON.parse(last.payload).comment);
  }
});
