/** What every console route shares: its env, the reader's catalogue, rendering a page in it, refusing. */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { JSX } from 'hono/jsx/jsx-runtime';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { formatIssues } from '../endpoints/schema';
import type { AppEnv } from '../env';
import { errorBody, type ErrorCode } from '../http/errors';
import { CATALOGUES, LANG_COOKIE, Page, pickLang, type Lang, type Messages } from './i18n';
import type { Session } from './session';
import { ErrorPage } from './views/layout';

export type ConsoleEnv = AppEnv & { Variables: { session: Session; lang: Lang } };
export type C = Context<ConsoleEnv>;

/** The reader's catalogue (the language is chosen once per request, see ./i18n). */
export const tOf = (c: Context): Messages =>
  CATALOGUES[(c as C).get('lang') ?? pickLang(getCookie(c, LANG_COOKIE), c.req.header('accept-language'))];

/** A page in the reader's language: every view below reads the catalogue and this page's path through `useT()`. */
export function render(c: Context, page: JSX.Element, status: ContentfulStatusCode = 200) {
  const person = (c as C).get('person');
  return c.html(
    <Page.Provider value={{ t: tOf(c), here: pageOf(c), role: person?.role ?? 'viewer', who: person?.who ?? '' }}>
      {page}
    </Page.Provider>,
    status,
  );
}

// The last segment of a console form's action (POST only): the page it belongs to is the path without it.
const ACTION = /\/(?:preview|test|secret|replay|import)$/;

/** The page a reader is on, for the language switch to come back to: a page answering a form is the form's page. */
function pageOf(c: Context): string {
  const url = new URL(c.req.url);
  return c.req.method === 'GET' ? url.pathname + url.search : url.pathname.replace(ACTION, '');
}

/** A form's validation problems in one line: `path: message; …`. */
export const issueText = (error: Parameters<typeof formatIssues>[0]) =>
  formatIssues(error)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');

/** A refusal: the page a browser can read, or the JSON `{ error }` every other client gets. */
export function refuse(c: C, status: ContentfulStatusCode, code: ErrorCode, message: string) {
  if ((c.req.header('accept') ?? '').includes('text/html')) {
    return render(c, <ErrorPage status={status} code={code} message={message} csrf={c.get('session')?.csrf} />, status);
  }
  return c.json(errorBody(code, message), status);
}
