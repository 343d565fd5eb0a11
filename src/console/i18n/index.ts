/**
 * The console's two languages, Chinese first. The language is the `lang` cookie when the reader chose one with the
 * switch, else the first of Accept-Language's zh or en (zh-* → Chinese), else Chinese. Views read the catalogue
 * with `useT()`, set once per page by `<Page.Provider>` (src/console/index.tsx `render`).
 */
import { createContext, useContext } from 'hono/jsx';
import { en, type Messages } from './en';
import { zh } from './zh';
import type { Reason } from './reasons';
import type { DeliveryStatus } from '../../deliveries/store';
import { allows, type Role } from '../../shared/roles';

export type Lang = 'zh' | 'en';
export const CATALOGUES: Record<Lang, Messages> = { zh, en };
export const LANG_COOKIE = 'lang';
export type { Messages, Reason };

const isLang = (v: string | undefined): v is Lang => v === 'zh' || v === 'en';

/** The reader's language: their choice (cookie), else their browser's (Accept-Language, by q), else Chinese. */
export function pickLang(cookie: string | undefined, acceptLanguage: string | undefined): Lang {
  if (isLang(cookie)) return cookie;
  const tags = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find(Boolean);
      return { tag, q: q === undefined ? 1 : Number(q) };
    })
    .filter((t) => t.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of tags) {
    if (tag.startsWith('zh')) return 'zh';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh';
}

/**
 * What every view may read of the page it is part of: the catalogue, and the page's own path (for the language switch).
 */
export type PageContext = { t: Messages; here: string; role: Role; who: string };
export const Page = createContext<PageContext>({ t: zh, here: '/console', role: 'viewer', who: '' });
export const useT = (): Messages => useContext(Page).t;
export const useHere = (): string => useContext(Page).here;
/**
 * Whether the reader's role may do what needs `needed` (the console hides what it may not; the route refuses it too).
 */
export const useCan = (): ((needed: Role) => boolean) => {
  const role = useContext(Page).role;
  return (needed) => allows(role, needed);
};
export const useWho = (): { who: string; role: Role } => ({ who: useContext(Page).who, role: useContext(Page).role });

/** A reason's sentence, or null for a reason the catalogue does not know (shown as its code alone). */
export const reasonText = (t: Messages, reason: string | null): string | null =>
  reason && reason in t.reason ? t.reason[reason as Reason] : null;
export const statusText = (t: Messages, status: DeliveryStatus): readonly [string, string] =>
  t.status[status] ?? [status, ''];
