/**
 * What the cron says to a team, in Chinese (the default) or English: what happened, what usually causes it, and the
 * console page that fixes it (never an admin API path). The bots' formats are ../notify.
 */
import type { Message, NotifyLang } from '../notify';
import type { Problem } from './problems';
import { sentences } from '../shared/text';

const at = (ms: number, zone: string, lang: NotifyLang) => {
  const format = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: zone,
    dateStyle: 'short',
    timeStyle: 'short',
  });
  return `${format.format(ms)} (${zone})`;
};

/** Console pages, absolute. */
export const pages = (base: string) => ({
  overview: base,
  endpoint: (id: string) => `${base}/endpoints/${encodeURIComponent(id)}`,
  problem: (p: Problem) => `${base}/deliveries?${new URLSearchParams({ endpoint: p.endpointId, status: p.status })}`,
  attention: `${base}/deliveries?status=attention`,
});

export type SilenceKind = 'silent' | 'refused' | 'recovered';

export function silenceMessage(
  kind: SilenceKind,
  e: { endpointId: string; name: string; lastAt: number | null; minutes: number; zone: string },
  lang: NotifyLang,
  base: string,
): Message {
  const last = e.lastAt === null ? (lang === 'zh' ? '还没有收到过' : 'none yet') : at(e.lastAt, e.zone, lang);
  const zh: Record<SilenceKind, [string, string[]]> = {
    silent: [
      `「${e.name}」已经 ${e.minutes} 分钟没有收到线索`,
      [
        `接收地址 ${e.endpointId} 在监控时段内 ${e.minutes} 分钟没有收到任何推送。最后一条：${last}。`,
        '常见原因：表单或广告平台关掉了推送，推送地址或令牌被改了，表单重新发布时没有带上推送设置。',
        '请到表单或广告平台检查推送设置，并在控制台打开这个接收地址，用“发送测试”确认地址可用。',
      ],
    ],
    refused: [
      `「${e.name}」收到的线索全部被拒绝`,
      [
        sentences(
          `接收地址 ${e.endpointId} 最近收到的推送都因令牌或签名不对被拒绝（401），这些线索在发送方那边会丢失。`,
          `最后一条：${last}。`,
        ),
        '常见原因：令牌换了但表单或广告平台里还是旧的，或者复制地址时少了一段。',
        '请在控制台打开这个接收地址，复制带令牌的完整地址，重新粘贴到发送方；被拒绝的推送可以在推送记录里审核后接受。',
      ],
    ],
    recovered: [`「${e.name}」恢复接收线索`, [`接收地址 ${e.endpointId} 又收到推送了。最后一条：${last}。`]],
  };
  const en: Record<SilenceKind, [string, string[]]> = {
    silent: [
      `"${e.name}": no lead for ${e.minutes} minutes`,
      [
        `Endpoint ${e.endpointId} received no webhook for ${e.minutes} watched minutes. The last one: ${last}.`,
        sentences(
          'Usually: the form or ad platform switched the push off, the URL or token changed,',
          'or the form was republished without its webhook.',
        ),
        sentences(
          'Check the sender\u2019s push settings,',
          'and open the endpoint in the console to confirm the URL with Send a test.',
        ),
      ],
    ],
    refused: [
      `"${e.name}": every lead is refused`,
      [
        sentences(
          `Endpoint ${e.endpointId} refuses every webhook it receives (401:`,
          "token or signature), so the leads are lost at the sender's side.",
          `The last one: ${last}.`,
        ),
        'Usually: the token changed but the sender still has the old one, or the URL was pasted cut short.',
        sentences(
          'Open the endpoint in the console, copy the whole URL with its token and paste it into the sender again;',
          'refused leads can be reviewed and accepted under Deliveries.',
        ),
      ],
    ],
    recovered: [
      `"${e.name}" receives leads again`,
      [`Endpoint ${e.endpointId} receives webhooks again. The last one: ${last}.`],
    ],
  };
  const [title, lines] = (lang === 'zh' ? zh : en)[kind];
  return {
    event: `endpoint.${kind}`,
    title,
    lines,
    link: {
      text: lang === 'zh' ? '在控制台打开这个接收地址' : 'Open the endpoint in the console',
      url: pages(base).endpoint(e.endpointId),
    },
    data: {
      endpointId: e.endpointId,
      lastReceivedAt: e.lastAt === null ? null : new Date(e.lastAt).toISOString(),
      minutes: e.minutes,
    },
  };
}

/** What each problem status means, in a few words (the console's own sentences are the console Worker's). */
const STATUS_WORDS: Record<NotifyLang, Record<string, string>> = {
  zh: {
    failed: 'CRM 拒绝了或推送失败',
    rejected: '令牌或签名不对，被拒绝',
    invalid: '内容无法读取',
    unmatched: '没有找到对应的客户',
    conflict: '对应到多个客户',
    dead: '多次重试后放弃',
  },
  en: {
    failed: 'the CRM refused it or the delivery failed',
    rejected: 'refused: wrong token or signature',
    invalid: 'the body could not be read',
    unmatched: 'no customer matched',
    conflict: 'the keys point to several customers',
    dead: 'given up after every retry',
  },
};

export function problemMessage(
  kind: 'opened' | 'grew' | 'reopened',
  p: Problem,
  name: string,
  zone: string,
  lang: NotifyLang,
  base: string,
): Message {
  const who = name && name !== p.endpointId ? `「${name}」(${p.endpointId})` : p.endpointId;
  const sentence = STATUS_WORDS[lang][p.status] ?? p.status;
  const zh = {
    opened: `接收地址 ${who}：出现新问题`,
    grew: `接收地址 ${who}：问题扩大到 ${p.count} 条`,
    reopened: `接收地址 ${who}：已解决的问题又出现了`,
  };
  const en = {
    opened: `Endpoint ${who}: a new problem`,
    grew: `Endpoint ${who}: the problem grew to ${p.count}`,
    reopened: `Endpoint ${who}: a resolved problem is back`,
  };
  const lines =
    lang === 'zh'
      ? [
          `${p.count} 条推送以同样的方式结束：${sentence}（${p.status}${p.reason ? ` / ${p.reason}` : ''}）`,
          `首次 ${at(p.firstSeen, zone, lang)}，最近 ${at(p.lastSeen, zone, lang)}。`,
          '修好原因后，在控制台重放这些推送，再把问题标记为已解决。',
        ]
      : [
          `${p.count} deliveries ended the same way: ${sentence} (${p.status}${p.reason ? ` / ${p.reason}` : ''})`,
          `First ${at(p.firstSeen, zone, lang)}, latest ${at(p.lastSeen, zone, lang)}.`,
          'Fix the cause, replay them in the console, then mark the problem resolved.',
        ];
  return {
    event: `problem.${kind}`,
    title: (lang === 'zh' ? zh : en)[kind],
    lines,
    link: {
      text:
        p.status === 'rejected'
          ? lang === 'zh'
            ? '在控制台审核这些被拒绝的线索'
            : 'Review these refused leads in the console'
          : lang === 'zh'
            ? '在控制台查看这些推送'
            : 'See these deliveries in the console',
      url: pages(base).problem(p),
    },
    data: {
      problemId: p.id,
      endpointId: p.endpointId,
      status: p.status,
      reason: p.reason || null,
      count: p.count,
      lastDeliveryId: p.lastDeliveryId,
    },
  };
}

export type DigestLine = {
  endpointId: string;
  received: number;
  delivered: number;
  created: number;
  unmatched: number;
  refused: number;
  failed: number;
};

export function digestMessage(
  d: { date: string; lines: DigestLine[]; open: Problem[]; attention: number; zone: string },
  lang: NotifyLang,
  base: string,
): Message {
  const zh = lang === 'zh';
  const rows = d.lines.map((l) =>
    zh
      ? sentences(
          `- ${l.endpointId}：`,
          `收到 ${l.received}，送达 ${l.delivered}，新建 ${l.created}，未匹配 ${l.unmatched}，拒绝 ${l.refused}，`,
          `失败 ${l.failed}`,
        )
      : sentences(
          `- ${l.endpointId}:`,
          `received ${l.received}, delivered ${l.delivered}, created ${l.created}, unmatched ${l.unmatched},`,
          `refused ${l.refused}, failed ${l.failed}`,
        ),
  );
  const problems = d.open
    .slice(0, 10)
    .map(
      (p) =>
        `- ${p.endpointId} · ${p.status}${p.reason ? ` / ${p.reason}` : ''} · ${p.count} · ${pages(base).problem(p)}`,
    );
  const lines = [
    ...(rows.length ? rows : [zh ? '- 过去 24 小时没有收到推送。' : '- No webhook in the last 24 hours.']),
    zh ? `未解决的问题：${d.open.length}` : `Open problems: ${d.open.length}`,
    ...problems,
    zh
      ? `需要人工处理的线索：${d.attention}（${pages(base).attention}）`
      : `Leads that need a person: ${d.attention} (${pages(base).attention})`,
  ];
  return {
    event: 'digest',
    title: zh ? `每日汇总 ${d.date}（${d.zone}）` : `Daily digest ${d.date} (${d.zone})`,
    lines,
    link: { text: zh ? '打开控制台' : 'Open the console', url: pages(base).overview },
    data: { date: d.date, endpoints: d.lines, openProblems: d.open.length, attention: d.attention },
  };
}
