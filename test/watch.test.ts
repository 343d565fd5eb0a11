/**
 * Watch it without watching (src/watch/): the cron, invoked as the platform invokes it, groups failures into problems,
 * alerts an endpoint that goes silent inside its hours (once, and once more when it recovers) or receives only
 * refused webhooks, and sends the daily digest at its hour; each bot gets its documented format. Nothing of it is
 * written per webhook (test/rows-written.test.ts keeps the rows per delivered webhook as they were).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CATALOGUES } from '../src/console/i18n';
import { botBody, type Message } from '../src/notify';
import { localTime, watchedMinutes } from '../src/shared/hours';
import { percentile, sweepTrends } from '../src/watch/trends';
import {
  call,
  consoleForm,
  consolePage,
  consoleSignIn,
  crmFailures,
  CUSTOMER_ID,
  hook,
  leadJson,
  runScheduled,
  setupEndpoint,
} from './helpers';

const ZONE = 'Asia/Shanghai';
const admin = (path: string, init: RequestInit = {}) =>
  call(
    new Request(`https://adapter.test${path}`, {
      ...init,
      headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
    }),
  );
const channelOf = (kind: string) => `${kind}-${crypto.randomUUID().slice(0, 8)}`;
const notifyTo = (channel: string, format: 'wecom' | 'dingtalk' | 'feishu' | 'json' = 'wecom') => ({
  url: `${env.CRM_BASE_URL}/__stub/notify/${channel}`,
  format,
});
const received = async (channel: string) =>
  (
    await (await fetch(`${env.CRM_BASE_URL}/__stub/notify/${channel}`)).json<{ messages: { body: string }[] }>()
  ).messages.map((m) => JSON.parse(m.body));
const cron = (at: number) => runScheduled(at, { CONSOLE_URL: 'https://crm-hooks.example.com/console' });
/** "HH:MM" in Shanghai, `minutes` from now. */
const hhmm = (ms: number) => {
  const m = localTime(ms, ZONE).minute;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

describe('failures grouped into problems', () => {
  it('twenty failures with one reason open one problem and one message; another kind a second; a repeat run says nothing new', async () => {
    const channel = channelOf('wecom');
    const { endpointId, productLineId } = await setupEndpoint({ notify: notifyTo(channel) });
    await crmFailures(
      productLineId,
      Array.from({ length: 20 }, () => ({ code: 500, message: '系统错误' })),
    );
    for (let i = 0; i < 20; i++)
      expect((await call(hook(endpointId, leadJson({ comment: `第 ${i} 条` })))).status).toBeGreaterThanOrEqual(400);
    for (let i = 0; i < 3; i++)
      expect((await call(hook(endpointId, leadJson(), { query: '?token=wrong' }))).status).toBe(401);
    await cron(Date.now() + 60_000);
    const messages = await received(channel);
    expect(messages).toHaveLength(2);
    const [failed, rejected] = [
      messages.find((m) => m.markdown.content.includes('CRM 拒绝')),
      messages.find((m) => m.markdown.content.includes('令牌或签名')),
    ];
    expect(failed.msgtype).toBe('markdown');
    expect(failed.markdown.content).toContain(`**接收地址 「Landing page form」(${endpointId})：出现新问题**`);
    expect(failed.markdown.content).toContain('20 条推送以同样的方式结束');
    expect(failed.markdown.content).toContain(
      `(https://crm-hooks.example.com/console/deliveries?endpoint=${endpointId}&status=failed)`,
    );
    expect(failed.markdown.content).not.toContain('/admin/');
    expect(rejected.markdown.content).toContain('3 条推送');
    const { problems } = await (await admin(`/admin/problems?endpoint=${endpointId}`)).json<{
      problems: { status: string; count: number; state: string }[];
    }>();
    expect(problems.map((p) => [p.status, p.count, p.state]).sort()).toEqual([
      ['failed', 20, 'open'],
      ['rejected', 3, 'open'],
    ]);
    await cron(Date.now() + 120_000);
    expect(await received(channel)).toHaveLength(2);
  });

  it('says it again when it grows ten times past the last message, not for every failure', async () => {
    const channel = channelOf('json');
    const { endpointId } = await setupEndpoint({ notify: notifyTo(channel, 'json') });
    for (let i = 0; i < 2; i++) await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    await cron(Date.now() + 60_000);
    for (let i = 0; i < 17; i++) await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    await cron(Date.now() + 120_000);
    expect((await received(channel)).map((m) => m.event)).toEqual(['problem.opened']);
    await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    await cron(Date.now() + 180_000);
    const messages = await received(channel);
    expect(messages.map((m) => [m.event, m.count])).toEqual([
      ['problem.opened', 2],
      ['problem.grew', 20],
    ]);
    expect(messages[1]).toMatchObject({
      endpointId,
      status: 'rejected',
      reason: 'credential_mismatch',
      url: expect.stringContaining('/console/deliveries?'),
    });
  });

  it('acknowledged and resolved through the API; a failure after resolving reopens it, said once', async () => {
    const channel = channelOf('dingtalk');
    const { endpointId } = await setupEndpoint({ notify: notifyTo(channel, 'dingtalk') });
    await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    await cron(Date.now() + 60_000);
    const id = encodeURIComponent(`${endpointId}|rejected|credential_mismatch`);
    const ack = await admin(`/admin/problems/${id}/acknowledge`, { method: 'POST' });
    expect(ack.status).toBe(200);
    expect(await ack.json()).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'admin (admin API)' });
    const resolved = await admin(`/admin/problems/${id}/resolve`, { method: 'POST' });
    expect(await resolved.json()).toMatchObject({
      state: 'resolved',
      replay: { endpoint: endpointId, status: 'rejected' },
    });
    expect((await admin('/admin/problems/no-such/resolve', { method: 'POST' })).status).toBe(404);
    await cron(Date.now() + 120_000);
    expect(await received(channel)).toHaveLength(1); // resolved and nothing new: quiet
    await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    await cron(Date.now() + 180_000);
    const messages = await received(channel);
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatchObject({
      msgtype: 'markdown',
      markdown: {
        title: `接收地址 「Landing page form」(${endpointId})：已解决的问题又出现了`,
        text: expect.stringContaining('1 条推送'),
      },
    });
  });

  it('in the console: the overview shows open problems first, with acknowledge and resolve; resolving offers the replay', async () => {
    const { endpointId } = await setupEndpoint();
    await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    await cron(Date.now() + 60_000);
    const s = await consoleSignIn();
    const t = CATALOGUES.zh.watch;
    const id = `${endpointId}|rejected|credential_mismatch`;
    let page = await (await call(consolePage('/console', s))).text();
    expect(page.indexOf(t.title)).toBeLessThan(page.indexOf(CATALOGUES.zh.overview.failingNow));
    expect(page).toContain(`data-problem="${id}"`);
    const ack = await call(consoleForm(`/console/problems/${encodeURIComponent(id)}/acknowledge`, s, {}));
    expect(ack.status).toBe(303);
    page = await (await call(consolePage('/console', s))).text();
    expect(page).toContain(t.state.acknowledged);
    const resolve = await call(consoleForm(`/console/problems/${encodeURIComponent(id)}/resolve`, s, {}));
    expect(resolve.status).toBe(303);
    page = await (await call(consolePage(resolve.headers.get('location')!, s))).text();
    expect(page).toContain(t.resolvedNotice(1));
    expect(page).toContain(`name="endpoint" value="${endpointId}"`);
    expect(page).not.toContain(`data-problem="${id}"`);
  });
});

describe('silence', () => {
  it('an endpoint silent past its minutes inside its hours alerts once, stays quiet, and says when it recovered', async () => {
    const channel = channelOf('feishu');
    const now = Date.now();
    // watched from an hour ago to five hours from now (Shanghai)
    const watch = {
      silentAfterMinutes: 60,
      hours: `${hhmm(now - 3_600_000)}-${hhmm(now + 5 * 3_600_000)}`,
      timeZone: ZONE,
    };
    const { endpointId } = await setupEndpoint({ notify: notifyTo(channel, 'feishu'), watch });
    expect((await call(hook(endpointId, leadJson()))).status).toBe(200);
    await cron(now + 30 * 60_000);
    expect(await received(channel)).toHaveLength(0);
    await cron(now + 65 * 60_000);
    await cron(now + 70 * 60_000);
    let messages = await received(channel);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      msg_type: 'interactive',
      card: { header: { title: { tag: 'plain_text', content: expect.stringContaining('「Landing page form」已经') } } },
    });
    expect(messages[0].card.header.title.content).toContain('分钟没有收到线索');
    expect(messages[0].card.elements[0].text.content).toContain('常见原因：表单或广告平台关掉了推送');
    expect(messages[0].card.elements[1].actions[0]).toMatchObject({
      tag: 'button',
      url: `https://crm-hooks.example.com/console/endpoints/${endpointId}`,
    });
    // a lead arrives: one more message, saying it recovered
    expect((await call(hook(endpointId, leadJson()))).status).toBe(200);
    await cron(Date.now() + 60_000);
    messages = await received(channel);
    expect(messages).toHaveLength(2);
    expect(messages[1].card.header.title.content).toContain('恢复接收线索');
  });

  it('is quiet outside its hours, however long the silence', async () => {
    const channel = channelOf('wecom');
    const now = Date.now();
    // watched hours that begin three hours from now
    const watch = {
      silentAfterMinutes: 30,
      hours: `${hhmm(now + 3 * 3_600_000)}-${hhmm(now + 6 * 3_600_000)}`,
      timeZone: ZONE,
    };
    const { endpointId } = await setupEndpoint({ notify: notifyTo(channel), watch });
    await call(hook(endpointId, leadJson()));
    await cron(now + 2 * 3_600_000);
    expect(await received(channel)).toHaveLength(0);
    // inside the hours, 40 watched minutes later: alerted
    await cron(now + 3 * 3_600_000 + 40 * 60_000);
    expect(await received(channel)).toHaveLength(1);
  });

  it('receiving, but every one refused (401), is its own alert', async () => {
    const channel = channelOf('json');
    const { endpointId } = await setupEndpoint({
      notify: notifyTo(channel, 'json'),
      watch: { silentAfterMinutes: 120 },
    });
    for (let i = 0; i < 3; i++) await call(hook(endpointId, leadJson(), { query: '?token=old-token' }));
    await cron(Date.now() + 60_000);
    const events = (await received(channel)).map((m) => m.event).sort();
    expect(events).toEqual(['endpoint.refused', 'problem.opened']);
    const refused = (await received(channel)).find((m) => m.event === 'endpoint.refused');
    expect(refused.text).toContain('都因令牌或签名不对被拒绝（401）');
  });

  it('counts only watched minutes: a lead at 21:50 and none by 09:10 is 20 minutes, not 11 hours', () => {
    const at = (h: number, m: number, day = 1) => Date.UTC(2026, 11, day, h - 8, m); // Shanghai is UTC+8
    expect(watchedMinutes(at(21, 50), at(9, 10, 2), { from: 9 * 60, to: 22 * 60 }, ZONE, 1000)).toBe(20);
    expect(watchedMinutes(at(10, 0), at(11, 0), null, ZONE, 1000)).toBe(60);
  });

  it('refuses a watch it cannot keep, with a sentence', async () => {
    for (const watch of [
      { silentAfterMinutes: 0 },
      { silentAfterMinutes: 10, hours: '9-22' },
      { silentAfterMinutes: 10, timeZone: 'Mars/Olympus' },
    ]) {
      const res = await admin('/admin/endpoints/watch-bad', {
        method: 'PUT',
        body: JSON.stringify({
          name: 'x',
          crm: { moduleId: '347772778973233152', productLineId: '1' },
          customerId: 'crm_id',
          fields: { name: 'name' },
          watch,
        }),
      });
      expect(res.status, JSON.stringify(watch)).toBe(400);
      expect(JSON.stringify(await res.json())).toContain('watch');
    }
  });
});

describe('the daily digest', () => {
  it('at its hour carries the day’s counts per endpoint, the open problems and console links; once a day', async () => {
    const channel = channelOf('json');
    const { endpointId, productLineId } = await setupEndpoint();
    await call(hook(endpointId, leadJson()));
    await call(hook(endpointId, leadJson({ crm_id: CUSTOMER_ID, comment: '再来一条' })));
    await crmFailures(productLineId, [{ code: 500, message: '系统错误' }]);
    await call(hook(endpointId, leadJson()));
    await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    const at = Date.now() + 60_000;
    const hour = String(Math.floor(localTime(at, ZONE).minute / 60));
    const vars = {
      CONSOLE_URL: 'https://crm-hooks.example.com/console',
      DIGEST_HOUR: hour,
      NOTIFY_URL: `${env.CRM_BASE_URL}/__stub/notify/${channel}`,
      NOTIFY_FORMAT: 'json',
    };
    await runScheduled(at, vars);
    await runScheduled(at + 5 * 60_000, vars);
    const digests = (await received(channel)).filter((m) => m.event === 'digest');
    expect(digests).toHaveLength(1);
    expect(digests[0].endpoints).toContainEqual({
      endpointId,
      received: 4,
      delivered: 2,
      created: 0,
      unmatched: 0,
      refused: 1,
      failed: 1,
    });
    expect(digests[0].text).toContain(`${endpointId}：收到 4，送达 2`);
    expect(digests[0].text).toContain('https://crm-hooks.example.com/console/deliveries?status=attention');
    expect(digests[0].url).toBe('https://crm-hooks.example.com/console');
  });
});

describe("each bot's format", () => {
  const m: Message = {
    event: 'problem.opened',
    title: '标题',
    lines: ['第一行', '第二行'],
    link: { text: '打开', url: 'https://x.example/console' },
    data: { count: 3 },
  };
  it('WeCom and DingTalk markdown, a Feishu card with a button, plain JSON for anything else', () => {
    expect(botBody('wecom', m)).toEqual({
      msgtype: 'markdown',
      markdown: { content: '**标题**\n第一行\n第二行\n[打开](https://x.example/console)' },
    });
    expect(botBody('dingtalk', m)).toEqual({
      msgtype: 'markdown',
      markdown: { title: '标题', text: '### 标题\n第一行\n\n第二行\n\n[打开](https://x.example/console)' },
    });
    expect(botBody('feishu', m)).toEqual({
      msg_type: 'interactive',
      card: {
        header: { title: { tag: 'plain_text', content: '标题' } },
        elements: [
          { tag: 'div', text: { tag: 'lark_md', content: '第一行\n第二行' } },
          {
            tag: 'action',
            actions: [
              {
                tag: 'button',
                text: { tag: 'plain_text', content: '打开' },
                url: 'https://x.example/console',
                type: 'primary',
              },
            ],
          },
        ],
      },
    });
    expect(botBody('json', m)).toEqual({
      event: 'problem.opened',
      title: '标题',
      text: '第一行\n第二行',
      url: 'https://x.example/console',
      count: 3,
    });
  });
});

describe('trends per endpoint', () => {
  it('the cron keeps hourly counts by outcome, the share refused and the CRM answer time; the console charts them with a table, in one named zone', async () => {
    const { endpointId } = await setupEndpoint();
    for (let i = 0; i < 3; i++)
      expect((await call(hook(endpointId, leadJson({ comment: `第 ${i} 条` })))).status).toBe(200);
    expect((await call(hook(endpointId, leadJson(), { query: '?token=wrong' }))).status).toBe(401);
    await cron(Date.now());
    const { results } = await env.DB.prepare('SELECT * FROM trends WHERE endpoint_id = ?')
      .bind(endpointId)
      .all<Record<string, unknown>>();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: 3, failed: 1, refused: 1, pending: 0 });
    expect((JSON.parse(results[0]!.crm_ms as string) as number[]).reduce((a, b) => a + b, 0)).toBe(3);
    // a second run with nothing new writes nothing
    expect(await sweepTrends(env.DB, Date.now())).toBe(0);
    const s = await consoleSignIn();
    const w = CATALOGUES.zh.trends;
    for (const range of ['24h', '7d', '30d']) {
      const res = await call(consolePage(`/console/endpoints/${endpointId}/trends?range=${range}`, s));
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain(w.zone(ZONE));
      expect(html).toContain('<td>4</td><td>25%</td>');
      expect(html).toContain('<svg');
    }
    const list = await (await call(consolePage('/console/endpoints', s))).text();
    expect(list).toContain(`href="/console/endpoints/${endpointId}/trends"`);
  });

  it('reads p50 and p95 from the histogram as the bounds of their buckets', () => {
    // 10 calls: 5 under 50 ms, 4 under 200 ms, 1 over 10 s
    const h = [5, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(percentile(h, 0.5)).toBe(50);
    expect(percentile(h, 0.9)).toBe(200);
    expect(percentile(h, 0.95)).toBe(Number.POSITIVE_INFINITY);
    expect(percentile(Array(13).fill(0), 0.5)).toBeNull();
  });
});

describe('two cron runs at once', () => {
  it('say each new problem, each silence and the digest once, and never write over an acknowledgement', async () => {
    const channel = channelOf('json');
    const now = Date.now();
    const { endpointId } = await setupEndpoint({
      notify: notifyTo(channel, 'json'),
      watch: { silentAfterMinutes: 30 },
    });
    await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    const hour = String(Math.floor(localTime(now + 40 * 60_000, ZONE).minute / 60));
    const vars = {
      CONSOLE_URL: 'https://crm-hooks.example.com/console',
      DIGEST_HOUR: hour,
      NOTIFY_URL: `${env.CRM_BASE_URL}/__stub/notify/${channel}`,
      NOTIFY_FORMAT: 'json',
    };
    // today's digest not sent yet (another test of this file may have sent it)
    await env.DB.prepare("DELETE FROM watch_state WHERE key = 'digest'").run();
    // overlapping runs, as a run that outlives its 5 minutes meets the next one
    await Promise.all([
      runScheduled(now + 40 * 60_000, vars),
      runScheduled(now + 40 * 60_000, vars),
      runScheduled(now + 40 * 60_000, vars),
    ]);
    const events = (await received(channel)).map((m) => m.event);
    expect(
      events.filter((e) => e === 'problem.opened'),
      events.join(),
    ).toHaveLength(1);
    expect(
      events.filter((e) => e === 'endpoint.silent'),
      events.join(),
    ).toHaveLength(1);
    expect(
      events.filter((e) => e === 'digest'),
      events.join(),
    ).toHaveLength(1);
    // acknowledged, then more failures counted by two runs at once: still acknowledged, counted once
    const id = encodeURIComponent(`${endpointId}|rejected|credential_mismatch`);
    expect((await admin(`/admin/problems/${id}/acknowledge`, { method: 'POST' })).status).toBe(200);
    for (let i = 0; i < 4; i++) await call(hook(endpointId, leadJson(), { query: '?token=wrong' }));
    await Promise.all([runScheduled(now + 45 * 60_000), runScheduled(now + 45 * 60_000)]);
    const { problems } = await (await admin(`/admin/problems?endpoint=${endpointId}`)).json<{
      problems: { state: string; count: number }[];
    }>();
    expect(problems).toEqual([expect.objectContaining({ state: 'acknowledged', count: 5 })]);
  });
});
