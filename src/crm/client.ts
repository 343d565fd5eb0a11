import * as z from '../shared/zod';
import { parseJsonLossless } from '../receive/json';
import { isRecord } from '../shared/json';

/** How to reach the CRM; built from the Worker's vars and secrets by `crmSettings`. */
export type CrmSettings = {
  baseUrl: string;
  authHeader: string;
  /** "Bearer" by default; "" sends the raw token. */
  authScheme: string;
  token: string;
  timeoutMs: number;
  /** The create call's path (CRM_CREATE_PATH), or null: no creation. */
  createPath: string | null;
};

export const DEFAULT_CRM_TIMEOUT_MS = 10_000;

/** The Worker variables and secrets the CRM client is configured by. */
export type CrmEnv = Pick<
  Env,
  'CRM_BASE_URL' | 'CRM_AUTH_HEADER' | 'CRM_AUTH_SCHEME' | 'CRM_API_TOKEN' | 'CRM_TIMEOUT_MS' | 'CRM_CREATE_PATH'
>;

/** Reads the CRM settings from the Worker env. */
export function crmSettings(env: CrmEnv): CrmSettings {
  const timeout = Number(env.CRM_TIMEOUT_MS);
  return {
    baseUrl: env.CRM_BASE_URL.replace(/\/+$/, ''),
    authHeader: env.CRM_AUTH_HEADER || 'Authorization',
    authScheme: env.CRM_AUTH_SCHEME ?? 'Bearer',
    token: env.CRM_API_TOKEN ?? '',
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_CRM_TIMEOUT_MS,
    createPath: createPathOf(env.CRM_CREATE_PATH),
  };
}

/** CRM_CREATE_PATH as a path on the CRM's origin: `/api/…`; empty, or anything else, is "no creation". */
function createPathOf(value: string | undefined): string | null {
  const path = (value ?? '').trim();
  return /^\/[A-Za-z0-9/_.-]{1,200}$/.test(path) ? path : null;
}

/**
 * The CRM's response envelope, whatever shape the PHP backend gives it: `code` a number or a numeric string (200 is
 * success), `message` a string, null or absent, `data` an object, `[]` (PHP's empty array), null or absent. Only a
 * body that is not a JSON object with a `code` is unreadable.
 */
const Envelope = z.looseObject({
  code: z.pipe(
    z.union([z.number(), z.string().check(z.regex(/^\s*-?\d+\s*$/))]),
    z.transform((c) => Number(c)),
  ),
  message: z.catch(z.nullish(z.string()), null),
  data: z.optional(z.unknown()),
});

/**
 * The record a successful answer carries (`data.item`), or null when `data` or `item` is empty (`[]`, null, absent).
 */
function itemOf(data: unknown): Record<string, unknown> | null {
  return isRecord(data) && isRecord(data.item) ? data.item : null;
}

/**
 * The request the adapter sends, as logged (the credential masked). `bodyText`: the JSON body exactly as sent, so
 * the log stores it without serialising a big body a second time (see crmRequestJson); `bodyBytes`: its size as
 * sent, read from the bytes handed to fetch (a masked copy of the body keeps it).
 */
export type CrmRequest = {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  bodyText?: string;
  bodyBytes?: number;
};

/** A CRM request as read back from the log: its body whole, or for a big one its size and its start. */
export type LoggedCrmRequest = Omit<CrmRequest, 'body' | 'bodyText'> & {
  body?: Record<string, unknown>;
  bodyBytes?: number;
  bodyStart?: string;
};

/**
 * The largest CRM request body the log keeps whole; past it, its size and its start (the payload beside it has all of
 * it).
 */
export const MAX_LOGGED_REQUEST_BODY = 16 * 1024;
/** How much of a bigger request body the log keeps: enough to read the first fields sent. */
export const LOGGED_REQUEST_START = 2 * 1024;

/**
 * A request as the row stores it: `{ url, headers, body }` in JSON, the body as it was sent (serialised once). A body
 * past MAX_LOGGED_REQUEST_BODY is kept as `{ url, headers, bodyBytes, bodyStart }`: storing a big body twice (once
 * as the payload) made the row's write the largest cost of a big webhook.
 */
export function crmRequestJson(request: CrmRequest): string {
  const body = request.bodyText ?? JSON.stringify(request.body);
  const head = `{"url":${JSON.stringify(request.url)},"headers":${JSON.stringify(request.headers)}`;
  if (body.length <= MAX_LOGGED_REQUEST_BODY) return `${head},"body":${body}}`;
  const bytes = request.bodyBytes ?? new TextEncoder().encode(body).byteLength;
  return `${head},"bodyBytes":${bytes},"bodyStart":${JSON.stringify(body.slice(0, LOGGED_REQUEST_START))}}`;
}

type CallFacts = { request: CrmRequest; durationMs: number; httpStatus?: number; responseText?: string };

/**
 * The outcome of one CRM call, classified once for everyone: `crm_unavailable` is worth retrying, `crm_rejected` is
 * not.
 */
export type CrmResult =
  | (CallFacts & { ok: true; httpStatus: number; code: number; message: string; item: Record<string, unknown> | null })
  | (CallFacts & {
      ok: false;
      error: 'crm_unavailable';
      retryable: true;
      code?: number;
      message: string;
      retryAfterSeconds?: number;
    })
  | (CallFacts & { ok: false; error: 'crm_rejected'; retryable: false; code?: number; message: string });

const MAX_LOGGED_RESPONSE = 64 * 1024;
/** UTF-8 with malformed bytes replaced, as `Response.text()` reads an answer. */
const answerDecoder = new TextDecoder();
// A successful answer echoes the whole customer record: its start (code, message, the record's id) is what a reader
// needs, and storing all of it made the row's D1 write the biggest cost of a big webhook (README "Benchmark").
const MAX_LOGGED_SUCCESS = 8 * 1024;

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The credential header's value: the scheme and the token ("" sends the raw token). */
const credentialOf = (settings: CrmSettings) =>
  settings.authScheme ? `${settings.authScheme} ${settings.token}` : settings.token;

export function maskedHeaders(settings: CrmSettings, productLineId: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'default-product-id': productLineId,
    [settings.authHeader.toLowerCase()]: settings.authScheme ? `${settings.authScheme} ***` : '***',
  };
}

/**
 * Calls `POST /api/moduleData/update`. Never throws: network errors, timeouts and odd answers
 * all come back as a classified `CrmResult`.
 * @example await updateCustomer(fetch, settings, '688051545102614528', { mid: '347772778973233152', id:
 * '688346218203447296', name: '吴九' })
 */
export async function updateCustomer(
  fetcher: typeof fetch,
  settings: CrmSettings,
  productLineId: string,
  body: Record<string, unknown>,
): Promise<CrmResult> {
  return callCrm(fetcher, settings, productLineId, '/api/moduleData/update', body, 'json');
}

/**
 * Calls the CRM's create call (CRM_CREATE_PATH: the web app's own "add customer" call, captured by the operator):
 * the headers of update, a body like update's without `id`, the new record in `data.item` of the same envelope.
 */
export async function createCustomer(
  fetcher: typeof fetch,
  settings: CrmSettings,
  path: string,
  productLineId: string,
  body: Record<string, unknown>,
): Promise<CrmResult> {
  return callCrm(fetcher, settings, productLineId, path, body, 'json');
}

/** One product line as the CRM lists it: `id` is the value of `default-product-id`, as an exact decimal string. */
export type ProductLine = { id: string; name: string; note: string; isDefault: boolean };

/**
 * Lists the product lines, `POST /api/productLine/lists` (no `default-product-id`: this is how the ids are found). It
 * touches no customer: the console's connection test and product-line picker.
 */
export async function listProductLines(
  fetcher: typeof fetch,
  settings: CrmSettings,
  keyword = '',
): Promise<{ ok: true; lines: ProductLine[] } | { ok: false; message: string }> {
  let text: string;
  let status: number;
  try {
    const response = await fetcher(`${settings.baseUrl}/api/productLine/lists`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [settings.authHeader]: credentialOf(settings) },
      body: JSON.stringify({ conditions: { keyword }, pager: { currentPage: 1, pageSize: 100 } }),
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    status = response.status;
    text = answerDecoder.decode(await response.arrayBuffer());
  } catch (err) {
    return { ok: false, message: `CRM unreachable: ${(err as Error).message}` };
  }
  let body: unknown;
  try {
    body = parseJsonLossless(text);
  } catch {
    return { ok: false, message: `CRM answered HTTP ${status} with an unreadable body` };
  }
  const envelope = Envelope.safeParse(body);
  if (!envelope.success) return { ok: false, message: `CRM answered HTTP ${status} with an unreadable body` };
  if (status >= 400 || envelope.data.code !== 200)
    return { ok: false, message: envelope.data.message || `CRM answered HTTP ${status}, code ${envelope.data.code}` };
  const data = envelope.data.data;
  const items = isRecord(data) && isRecord(data.items) && Array.isArray(data.items.data) ? data.items.data : [];
  const lines = items.filter(isRecord).map((item) => ({
    id: String(item.id ?? ''),
    name: typeof item.name === 'string' ? item.name : '',
    note: typeof item.note === 'string' ? item.note : '',
    isDefault: Number(item.is_default) === 1,
  }));
  return { ok: true, lines: lines.filter((l) => /^\d{1,20}$/.test(l.id)) };
}

/**
 * Reads one customer, `POST /api/crm/client/detail` (form-encoded `mid`, `id`), classified like an update.
 * @example await readCustomer(fetch, settings, '688051545102614528', '347772778973233152', '688346218203447296')
 */
export async function readCustomer(
  fetcher: typeof fetch,
  settings: CrmSettings,
  productLineId: string,
  moduleId: string,
  id: string,
): Promise<CrmResult> {
  return callCrm(fetcher, settings, productLineId, '/api/crm/client/detail', { mid: moduleId, id }, 'form');
}

async function callCrm(
  fetcher: typeof fetch,
  settings: CrmSettings,
  productLineId: string,
  path: string,
  body: Record<string, unknown>,
  encoding: 'json' | 'form',
): Promise<CrmResult> {
  const url = `${settings.baseUrl}${path}`;
  const contentType = encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
  const sent =
    encoding === 'json' ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>).toString();
  // encoded here rather than by fetch: the log reads its size from the same bytes
  const bytes = new TextEncoder().encode(sent);
  const request: CrmRequest = {
    url,
    headers: { ...maskedHeaders(settings, productLineId), 'content-type': contentType },
    body,
    ...(encoding === 'json' ? { bodyText: sent, bodyBytes: bytes.byteLength } : {}),
  };
  const started = Date.now();
  let response: Response;
  let text: string;
  try {
    response = await fetcher(url, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'default-product-id': productLineId,
        [settings.authHeader]: credentialOf(settings),
      },
      body: bytes,
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    // decoded here rather than by text(), which workerd does at a third of the speed for a Chinese answer
    text = answerDecoder.decode(await response.arrayBuffer());
  } catch (err) {
    const e = err as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    return {
      ok: false,
      error: 'crm_unavailable',
      retryable: true,
      message: timedOut ? `CRM did not answer within ${settings.timeoutMs} ms` : `CRM unreachable: ${e.message}`,
      request,
      durationMs: Date.now() - started,
    };
  }
  const facts = {
    request,
    durationMs: Date.now() - started,
    httpStatus: response.status,
    responseText: text.slice(0, MAX_LOGGED_RESPONSE),
  };
  return classifyAnswer(response, text, facts);
}

type AnswerFacts = { request: CrmRequest; durationMs: number; httpStatus: number; responseText: string };

/** The one classification of a CRM answer: retryable outage, refusal, or success (with the record it returned). */
function classifyAnswer(response: Response, text: string, facts: AnswerFacts): CrmResult {
  let envelope: z.infer<typeof Envelope> | undefined;
  try {
    const parsed = Envelope.safeParse(parseJsonLossless(text));
    if (parsed.success) envelope = parsed.data;
  } catch {
    envelope = undefined;
  }
  const status = response.status;
  const crmMessage = envelope?.message ?? '';
  if (status >= 500 || status === 429 || status === 408) {
    const retryAfterSeconds = retryAfter(response.headers.get('retry-after'));
    return {
      ok: false,
      error: 'crm_unavailable',
      retryable: true,
      code: envelope?.code,
      message: `CRM answered HTTP ${status}${crmMessage ? `: ${crmMessage}` : ''}`,
      retryAfterSeconds,
      ...facts,
    };
  }
  if (status >= 400)
    return {
      ok: false,
      error: 'crm_rejected',
      retryable: false,
      code: envelope?.code,
      message: crmMessage || `CRM answered HTTP ${status}`,
      ...facts,
    };
  if (!envelope)
    return {
      ok: false,
      error: 'crm_unavailable',
      retryable: true,
      message: `CRM answered HTTP ${status} with an unreadable body`,
      ...facts,
    };
  if (envelope.code !== 200)
    return {
      ok: false,
      error: 'crm_rejected',
      retryable: false,
      code: envelope.code,
      message: crmMessage || `CRM answered code ${envelope.code}`,
      ...facts,
    };
  return {
    ok: true,
    code: 200,
    message: crmMessage,
    item: itemOf(envelope.data),
    ...facts,
    httpStatus: status,
    responseText: facts.responseText.slice(0, MAX_LOGGED_SUCCESS),
  };
}
