import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { DeliveryStatus } from '../../deliveries/store';
import { GROUP_OF } from '../../deliveries/stats';
import { assetPath, consolePath, consolePathWith } from '../paths';
import { reasonText, statusText, useHere, useT, useWho, type Messages } from '../i18n';

export type Nav = 'overview' | 'deliveries' | 'endpoints' | 'customer-keys' | 'audit' | 'team' | null;

const LINKS: [Nav, string, keyof Messages['nav']][] = [
  ['overview', consolePath('overview'), 'overview'],
  ['deliveries', consolePath('deliveries'), 'deliveries'],
  ['endpoints', consolePath('endpoints'), 'endpoints'],
  ['customer-keys', consolePath('customerKeys'), 'customerKeys'],
  ['audit', consolePath('audit'), 'audit'],
  ['team', consolePath('team'), 'team'],
];

/** Who is signed in, and for a viewer that nothing can be changed from here. */
function WhoLine() {
  const t = useT();
  const { who, role } = useWho();
  if (!who) return null;
  return (
    <p class="muted who">
      {t.team.you(who, t.team.roles[role])} {role === 'viewer' && t.team.viewerNote}
    </p>
  );
}

/** The link that switches the language and comes back to this page. */
function LanguageSwitch() {
  const t = useT();
  return (
    <a
      class="lang"
      href={consolePathWith('language', { to: t.lang === 'en' ? 'zh' : 'en', next: useHere() })}
      lang={t.lang === 'en' ? 'zh-CN' : 'en'}
    >
      {t.switchTo}
    </a>
  );
}

/** Every console page: one stylesheet and one small script, both static assets (nothing inline: the CSP forbids it). */
export function Layout(props: { title: string; nav: Nav; csrf?: string; children: Child }) {
  const t = useT();
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang={t.lang}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · ${t.brand}`}</title>
          <link rel="icon" href={assetPath('favicon.svg')} type="image/svg+xml" />
          <link rel="stylesheet" href={assetPath('app.css')} />
          <script src={assetPath('app.js')} defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            {t.skip}
          </a>
          <header>
            <span class="brand">{t.brand}</span>
            {props.csrf !== undefined && (
              <nav aria-label={t.nav.label}>
                {LINKS.map(([key, href, label]) => (
                  <a href={href} aria-current={props.nav === key ? 'page' : undefined}>
                    {t.nav[label]}
                  </a>
                ))}
                <form method="post" action={consolePath('signOut')} class="inline">
                  <Csrf token={props.csrf} />
                  <button type="submit" class="link">
                    {t.signOut}
                  </button>
                </form>
              </nav>
            )}
            <LanguageSwitch />
          </header>
          <main id="main" tabindex={-1}>
            <h1>{props.title}</h1>
            {props.csrf !== undefined && <WhoLine />}
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

export const Csrf = (p: { token: string }) => <input type="hidden" name="_csrf" value={p.token} />;

/** A time in UTC; the script shows it in the reader's own time zone. */
export function Time(p: { ms: number | string | null }) {
  if (p.ms === null) return <span class="muted">—</span>;
  const iso = new Date(p.ms).toISOString();
  return <time datetime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`}</time>;
}

/** A status as its short name, its code beside it (operators search for codes), the sentence as its title. */
export function Status(p: { status: DeliveryStatus }) {
  const [label, sentence] = statusText(useT(), p.status);
  return (
    <span class={`status g-${GROUP_OF[p.status] ?? 'other'}`} title={sentence}>
      {label} <code>{p.status}</code>
    </span>
  );
}

/**
 * What a status and its reason mean for the reader, in a sentence: the reason's when there is one, else the status's.
 */
export function Explain(p: { status: DeliveryStatus; reason: string | null }) {
  const t = useT();
  const text = reasonText(t, p.reason) ?? statusText(t, p.status)[1];
  return (
    <span class="explain">
      {p.reason && <code>{p.reason}</code>} {text}
    </span>
  );
}

/** A value as indented JSON (escaped like every other text). */
export function Json(p: { value: unknown; label?: string }) {
  return (
    <pre class="code" tabindex={0} role="region" aria-label={p.label ?? useT().json}>
      {typeof p.value === 'string' ? p.value : JSON.stringify(p.value, null, 2)}
    </pre>
  );
}

export function Notice(p: { kind: 'ok' | 'error' | 'warn'; children: Child }) {
  return (
    <div class={`notice ${p.kind}`} role={p.kind === 'error' ? 'alert' : 'status'}>
      {p.children}
    </div>
  );
}

/**
 * A configuration problem in the reader's words: the validator's commonest sentences are said again in Chinese on a
 * Chinese page, the original kept beside it (operators search for it); anything else is shown as it is.
 */
export function problemText(t: Messages, message: string): string {
  const p = t.problem;
  const unknownKey = /^Unrecognized keys?: (.+)$/.exec(message);
  if (unknownKey) return `${p.unknownKey(unknownKey[1]!)} (${message})`;
  if (/^Invalid input: expected \w+, received undefined$/.test(message)) return `${p.missing} (${message})`;
  if (/^Invalid input: expected (\w+), received (\w+)$/.test(message)) return `${p.wrongType} (${message})`;
  if (message.startsWith('give customerId (an expression) or customerLookup')) return `${p.whichCustomer} (${message})`;
  if (message.startsWith('invalid JSONata:')) return `${p.expression} (${message})`;
  return message;
}

export function Issues(p: { issues: { path: string; message: string }[]; id?: string }) {
  const t = useT();
  return (
    <div id={p.id} class="issues" aria-live="polite">
      {p.issues.length > 0 && (
        <Notice kind="error">
          <p>{t.problems(p.issues.length)}</p>
          <ul>
            {p.issues.map((i) => (
              <li>
                <code>{i.path || t.top}</code> {problemText(t, i.message)}
              </li>
            ))}
          </ul>
        </Notice>
      )}
    </div>
  );
}

export function ErrorPage(p: { status: number; code: string; message: string; csrf?: string }) {
  const t = useT();
  return (
    <Layout title={t.errorTitle(p.status, p.code)} nav={null} csrf={p.csrf}>
      <Notice kind="error">
        <p>{p.message}</p>
      </Notice>
      <p>
        <a href={consolePath('overview')}>{t.back}</a>
      </p>
    </Layout>
  );
}
