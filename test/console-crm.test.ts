/**
 * The console says when CRM calls are paused (in the reader's language, what happens to the leads, until when) and
 * its Resume now button ends the pause. The pause is made the way the CRM makes one (a call answered with a
 * Retry-After), on the deployment-wide coordinator (CRM_LIMIT_SCOPE=crm: no other test uses it).
 */
import { env } from 'cloudflare:workers';
import { expect, it } from 'vitest';
import { begin, coordinationOf, end, gateStatus } from '../src/coordination';
import { callWith } from './helpers';

const BASE = 'https://adapter.test';
const own = { CRM_LIMIT_SCOPE: 'crm' };
const coordination = coordinationOf({ ...env, ...own } as Env);

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const res = await callWith(
    new Request(`${BASE}/console/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'test-admin-token', next: '/console' }),
    }),
    own,
  );
  const cookie = /^(__Host-console=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
  const page = await callWith(new Request(`${BASE}/console`, { headers: { cookie } }), own);
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]! };
}

it('shows a paused CRM on the overview in Chinese, and Resume now ends the pause', async () => {
  const s = await signIn();
  const quiet = await (
    await callWith(new Request(`${BASE}/console`, { headers: { cookie: s.cookie, 'accept-language': 'zh-CN' } }), own)
  ).text();
  expect(quiet).not.toContain('CRM 调用已暂停');

  // the CRM answers a call with Retry-After: 300
  const call = { calls: 1, timeoutMs: 1000, turnWaitMs: 0, slotWaitMs: 0 };
  const slot = await begin(coordination, '', null, call);
  if (slot.kind !== 'granted') throw new Error('no slot');
  await end(coordination, '', {
    place: null,
    end: 'ended',
    slot: slot.slot,
    outcome: { kind: 'retryable', retryAfterSeconds: 300 },
  });
  expect(await gateStatus(coordination, '')).toMatchObject({ paused: true });

  const page = await (
    await callWith(new Request(`${BASE}/console`, { headers: { cookie: s.cookie, 'accept-language': 'zh-CN' } }), own)
  ).text();
  expect(page).toContain('CRM 调用已暂停');
  expect(page).toContain('不会丢失');
  expect(page).toContain('立即恢复');
  expect(page).toContain('Retry-After');
  const english = await (
    await callWith(new Request(`${BASE}/console`, { headers: { cookie: s.cookie, 'accept-language': 'en' } }), own)
  ).text();
  expect(english).toContain('CRM calls are paused');

  // the button: a form post with the page's CSRF token
  const action =
    /<form method="post" action="([^"]+)">\s*<input type="hidden" name="_csrf" value="([^"]+)"\/?>\s*<button type="submit">立即恢复/.exec(
      page,
    );
  expect(action).not.toBeNull();
  const res = await callWith(
    new Request(`${BASE}${action![1]}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie },
      body: new URLSearchParams({ _csrf: action![2]! }),
    }),
    own,
  );
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/console?done=resumed');
  const after = await (
    await callWith(
      new Request(`${BASE}/console?done=resumed`, { headers: { cookie: s.cookie, 'accept-language': 'zh-CN' } }),
      own,
    )
  ).text();
  expect(after).toContain('已恢复');
  expect(after).not.toContain('CRM 调用已暂停</h2>');
  // the pause is over: the next call is the probe
  expect(await begin(coordination, '', null, call)).toMatchObject({ kind: 'granted', probe: true });
});
