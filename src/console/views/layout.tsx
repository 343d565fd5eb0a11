import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { DeliveryStatus } from '../../deliveries/store';
import { GROUP_OF } from '../../deliveries/stats';
import { assetPath, consolePath } from '../paths';

export type Nav = 'overview' | 'deliveries' | 'endpoints' | 'customer-keys' | null;

const LINKS: [Nav, string, string][] = [
  ['overview', consolePath('overview'), 'Overview'],
  ['deliveries', consolePath('deliveries'), 'Deliveries'],
  ['endpoints', consolePath('endpoints'), 'Endpoints'],
  ['customer-keys', consolePath('customerKeys'), 'Customer keys'],
];

/** Every console page: one stylesheet and one small script, both static assets (nothing inline: the CSP forbids it). */
export function Layout(props: { title: string; nav: Nav; csrf?: string; children: Child }) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · CRM webhook adapter`}</title>
          <link rel="stylesheet" href={assetPath('app.css')} />
          <script src={assetPath('app.js')} defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header>
            <span class="brand">CRM webhook adapter</span>
            {props.csrf !== undefined && (
              <nav aria-label="Console">
                {LINKS.map(([key, href, label]) => (
                  <a href={href} aria-current={props.nav === key ? 'page' : undefined}>
                    {label}
                  </a>
                ))}
                <form method="post" action={consolePath('signOut')} class="inline">
                  <Csrf token={props.csrf} />
                  <button type="submit" class="link">
                    Sign out
                  </button>
                </form>
              </nav>
            )}
          </header>
          <main id="main" tabindex={-1}>
            <h1>{props.title}</h1>
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

export function Status(p: { status: DeliveryStatus }) {
  return <span class={`status g-${GROUP_OF[p.status] ?? 'other'}`}>{p.status}</span>;
}

/** A value as indented JSON (escaped like every other text). */
export function Json(p: { value: unknown; label?: string }) {
  return (
    <pre class="code" tabindex={0} role="region" aria-label={p.label ?? 'JSON'}>
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

export function Issues(p: { issues: { path: string; message: string }[]; id?: string }) {
  return (
    <div id={p.id} class="issues" aria-live="polite">
      {p.issues.length > 0 && (
        <Notice kind="error">
          <p>{`${p.issues.length} problem${p.issues.length === 1 ? '' : 's'} in the configuration:`}</p>
          <ul>
            {p.issues.map((i) => (
              <li>
                <code>{i.path || '(top)'}</code> {i.message}
              </li>
            ))}
          </ul>
        </Notice>
      )}
    </div>
  );
}

export function ErrorPage(p: { status: number; code: string; message: string; csrf?: string }) {
  return (
    <Layout title={`${p.status}: ${p.code}`} nav={null} csrf={p.csrf}>
      <Notice kind="error">
        <p>{p.message}</p>
      </Notice>
      <p>
        <a href={consolePath('overview')}>Back to the console</a>
      </p>
    </Layout>
  );
}
