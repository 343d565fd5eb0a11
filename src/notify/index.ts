import * as z from '../shared/zod';

/**
 * Messages to a team's group bot or any URL: the cron's silence alerts, problems and the daily digest
 * (src/watch/). Each bot gets the body its documentation gives: WeCom and DingTalk group bots markdown, Feishu an
 * interactive card with a button, anything else plain JSON. Every message links to the exact console page.
 */
export const NOTIFY_FORMATS = ['wecom', 'dingtalk', 'feishu', 'json'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];
export const NOTIFY_LANGS = ['zh', 'en'] as const;
export type NotifyLang = (typeof NOTIFY_LANGS)[number];

export const NotifyConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  format: z._default(z.enum(NOTIFY_FORMATS), 'json'),
  /** The messages' language; else the Worker's NOTIFY_LANG (zh unless told). */
  lang: z.optional(z.enum(NOTIFY_LANGS)),
});
export type NotifyConfig = z.infer<typeof NotifyConfig>;
export type NotifyTarget = { url: string; format: NotifyFormat; lang: NotifyLang };

type NotifyVars = { NOTIFY_URL?: string; NOTIFY_FORMAT?: string; NOTIFY_LANG?: string };

/** The endpoint's target, else the Worker-wide default (`NOTIFY_URL`, `NOTIFY_FORMAT`, `NOTIFY_LANG`). */
export function notifyTarget(config: NotifyConfig | undefined, env: NotifyVars): NotifyTarget | null {
  const lang: NotifyLang = config?.lang ?? (env.NOTIFY_LANG === 'en' ? 'en' : 'zh');
  if (config) return { url: config.url, format: config.format, lang };
  if (!env.NOTIFY_URL) return null;
  const format = (NOTIFY_FORMATS as readonly string[]).includes(env.NOTIFY_FORMAT ?? '')
    ? (env.NOTIFY_FORMAT as NotifyFormat)
    : 'json';
  return { url: env.NOTIFY_URL, format, lang };
}

/** One message, before a bot's format: a title, markdown lines, the console page to open, and its facts as data. */
export type Message = {
  event: string;
  title: string;
  lines: string[];
  link: { text: string; url: string };
  data: Record<string, unknown>;
};

/** The request body each bot expects. */
export function botBody(format: NotifyFormat, m: Message): unknown {
  const text = [...m.lines, `[${m.link.text}](${m.link.url})`].join('\n');
  switch (format) {
    case 'wecom': // WeCom group bot: {"msgtype":"markdown","markdown":{"content"}} (4096 bytes at most)
      return { msgtype: 'markdown', markdown: { content: `**${m.title}**\n${text}`.slice(0, 4000) } };
    case 'dingtalk': // DingTalk custom robot: {"msgtype":"markdown","markdown":{"title","text"}}
      return {
        msgtype: 'markdown',
        markdown: { title: m.title, text: `### ${m.title}\n${text.replace(/\n/g, '\n\n')}` },
      };
    case 'feishu': // Feishu custom bot: an interactive card, lark_md text and a button to the console
      return {
        msg_type: 'interactive',
        card: {
          header: { title: { tag: 'plain_text', content: m.title } },
          elements: [
            { tag: 'div', text: { tag: 'lark_md', content: m.lines.join('\n') } },
            {
              tag: 'action',
              actions: [
                { tag: 'button', text: { tag: 'plain_text', content: m.link.text }, url: m.link.url, type: 'primary' },
              ],
            },
          ],
        },
      };
    case 'json':
      return { event: m.event, title: m.title, text: [...m.lines].join('\n'), url: m.link.url, ...m.data };
  }
}

/** Posts a message; failures are logged, never thrown (a message must not fail the cron's other work). */
export async function sendMessage(fetchFn: typeof fetch, target: NotifyTarget, m: Message): Promise<boolean> {
  try {
    const res = await fetchFn(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(botBody(target.format, m)),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) console.error(`message to ${new URL(target.url).host} answered HTTP ${res.status}`);
    return res.ok;
  } catch (err) {
    console.error('message failed', err);
    return false;
  }
}
