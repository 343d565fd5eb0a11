/**
 * The delivery core that the sync path, the queue attempt, replay (a queued attempt) and preview share:
 * `prepare` (parse -> the preset's view -> skipWhen -> map -> idempotency key) and `deliverToCrm` (./deliver.ts:
 * resolve the customer -> read -> plan -> call the CRM -> learn keys), then `crmFacts` for the row. Each path
 * decides only *when* these run and what it writes afterwards.
 */
import type { CrmResult } from '../crm/client';
import type { NewDelivery } from '../deliveries/store';
import { type DeliveryConfig, maxAttempts, retryDelaySeconds } from '../deliveries/retry';
import { redactPaths, scrubText, scrubValue, sensitiveForms } from '../deliveries/redact';
import type { EndpointConfig } from '../endpoints/schema';
import type { CompiledMapping } from '../mapping/compile';
import { idempotencyKeyOf, mapPayload, shouldSkip, versionOf, type MapInput, type MapResult } from '../mapping/map';
import { versionText } from '../coordination';
import { viewOf } from '../presets';
import { parseBody, type BodyFailure } from '../receive/body';
import type { Delivered } from './deliver';
import { scrubJson } from './record';

/**
 * A request as the core needs it: the raw body, its content type, and what expressions see as `$headers` and `$query`.
 */
export type CoreRequest = {
  bytes: Uint8Array;
  contentType: string | null;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
};

export type Prepared =
  | { ok: false; step: 'parse'; failure: BodyFailure; warnings: string[] }
  | { ok: false; step: 'skip'; value: unknown; view: unknown; warnings: string[] }
  | {
      ok: false;
      step: 'map';
      failure: Exclude<MapResult, { ok: true }>;
      value: unknown;
      view: unknown;
      warnings: string[];
    }
  | {
      ok: true;
      mapped: Extract<MapResult, { ok: true }>;
      input: MapInput;
      value: unknown;
      key: string | null;
      version: string | null;
      warnings: string[];
    };

/**
 * Parses the body, lays the preset's view over it, checks skipWhen and maps it (with the idempotency key).
 * `explain`: a warning for every expression that yields nothing (preview).
 */
export async function prepare(
  config: EndpointConfig,
  mapping: CompiledMapping,
  request: CoreRequest,
  options: { explain?: boolean } = {},
): Promise<Prepared> {
  const parsed = await parseBody(request.bytes, request.contentType);
  if (!parsed.ok) return { ok: false, step: 'parse', failure: parsed, warnings: [] };
  return prepareParsed(config, mapping, parsed.value, request, [...parsed.warnings], options);
}

/** `prepare` for a body already parsed (the sync path parses before its public-form checks). */
export async function prepareParsed(
  config: EndpointConfig,
  mapping: CompiledMapping,
  value: unknown,
  request: Pick<CoreRequest, 'headers' | 'query'>,
  warnings: string[],
  options: { explain?: boolean } = {},
): Promise<Prepared> {
  const input: MapInput = { body: viewOf(config.preset, value), headers: request.headers, query: request.query };
  const skip = await shouldSkip(mapping, input);
  if (skip.warning) warnings.push(skip.warning);
  if (skip.skip) return { ok: false, step: 'skip', value, view: input.body, warnings };
  const mapped = await mapPayload(mapping, input, options);
  warnings.push(...mapped.warnings);
  if (!mapped.ok) return { ok: false, step: 'map', failure: mapped, value, view: input.body, warnings };
  const key = await idempotencyKeyOf(mapping, config.idempotencyKey, input);
  if (key.warning) warnings.push(key.warning);
  const version = await versionOf(mapping, input);
  if (version.warning) warnings.push(version.warning);
  return { ok: true, mapped, input, value, key: key.value ?? null, version: versionText(version.value), warnings };
}

/** Whether a map failure means "nobody to update" (unmatched, replayable once keys exist) rather than a bad request. */
export const isUnmatched = (failure: Exclude<MapResult, { ok: true }>) =>
  failure.reason === 'customer_unresolved' && failure.kind === 'missing';

/** What the deliver step needs of an endpoint's configuration. */
export function targetOf(config: EndpointConfig) {
  return { moduleId: config.crm.moduleId, productLineId: config.crm.productLineId, update: config.update };
}

/** The CRM's answer with every known secret replaced by *** (a CRM may echo its credential in a refusal). */
export function scrubbedResult<D extends Delivered>(delivered: D, secrets: string[]): D {
  if (!('result' in delivered) || !delivered.result || secrets.length === 0) return delivered;
  // everything the CRM said comes from its answer's text: without a secret there, nothing is rewritten
  const said = `${delivered.result.responseText ?? ''}${delivered.result.message}`;
  if (!secrets.some((s) => s.length >= 4 && said.includes(s))) return delivered;
  return { ...delivered, result: scrubJson(delivered.result, secrets) } as D;
}

/** The warnings a CRM call adds to its delivery. */
export function warningsOf(delivered: Delivered): string[] {
  return delivered.kind === 'delivered'
    ? delivered.skipped.map((name) => `fields.${name}: left out, the CRM already has a value`)
    : [];
}

export type CrmFacts = Pick<
  NewDelivery,
  'crm_request' | 'crm_http_status' | 'crm_code' | 'crm_message' | 'crm_response' | 'crm_duration_ms'
>;

/** A CRM call's facts for the row, with the endpoint's `redact` values masked wherever they reappear. */
export function crmFacts(result: CrmResult | null, parsedBody: unknown, redact: string[] | undefined): CrmFacts {
  const facts: CrmFacts = {
    crm_request: null,
    crm_http_status: null,
    crm_code: null,
    crm_message: null,
    crm_response: null,
    crm_duration_ms: null,
  };
  if (!result) return facts;
  facts.crm_request = result.request;
  facts.crm_http_status = result.httpStatus ?? null;
  facts.crm_code = result.code ?? null;
  facts.crm_message = result.message || null;
  facts.crm_response = result.responseText ?? null;
  facts.crm_duration_ms = result.durationMs;
  if (!redact?.length) return facts;
  const forms = sensitiveForms(redactPaths(parsedBody, redact).originals);
  // masked value by value (the text as sent is dropped: a value's JSON escaping could hide it from a text replace)
  if (facts.crm_request) {
    const { bodyText: _sent, ...request } = facts.crm_request;
    facts.crm_request = scrubValue(request, forms);
  }
  if (facts.crm_response) facts.crm_response = scrubText(facts.crm_response, forms);
  if (facts.crm_message) facts.crm_message = scrubText(facts.crm_message, forms);
  return facts;
}

/** Whether a failed CRM call is worth another try under this endpoint's delivery settings. */
export function isRetryable(result: CrmResult, delivery: DeliveryConfig): boolean {
  if (result.ok) return false;
  return result.retryable || (result.code !== undefined && delivery.retryableCrmCodes.includes(result.code));
}

/** What a failed CRM call means for its delivery: tried again after a delay, refused for good, or given up on. */
export type FailureOutcome =
  | { status: 'retrying'; delaySeconds: number }
  | { status: 'failed' }
  | { status: 'dead'; message: string };

/**
 * The one decision after a failed CRM call, for the sync path and the queued attempt alike. `attempt`: the attempts of
 * this run so far, this one included; `mayRetry`: whether the path may retry (sync: `onFailure: "retry"`); `exhausted`:
 * what a run out of attempts becomes (`dead` in the queue; a sync call that may not retry simply `failed`).
 */
export function failureOutcome(
  result: Extract<CrmResult, { ok: false }>,
  delivery: DeliveryConfig,
  attempt: number,
  mayRetry: boolean,
  exhausted: 'dead' | 'failed',
): FailureOutcome {
  if (!isRetryable(result, delivery) || !mayRetry) return { status: 'failed' };
  if (attempt >= maxAttempts(delivery))
    return exhausted === 'dead'
      ? { status: 'dead', message: `gave up after ${attempt} attempts: ${result.message}` }
      : { status: 'failed' };
  return {
    status: 'retrying',
    delaySeconds: retryDelaySeconds(
      delivery,
      attempt,
      'retryAfterSeconds' in result ? result.retryAfterSeconds : undefined,
    ),
  };
}

/** What goes on the queue: only the delivery's id (messages are at most 128 KB; D1 holds the rest). */
export type DeliveryMessage = { id: string };

/**
 * Sends a delivery's id to the queue. A failed send is logged, not thrown: the row is due, and the cron re-drives it.
 */
export async function enqueue(queue: Queue<DeliveryMessage>, id: string, delaySeconds?: number): Promise<boolean> {
  try {
    await queue.send({ id }, delaySeconds ? { delaySeconds } : undefined);
    return true;
  } catch (err) {
    console.error(`queue send failed for ${id}; the cron re-drive will pick it up`, err);
    return false;
  }
}

/** The most messages one `sendBatch` takes. */
const BATCH_MAX = 100;

/**
 * Sends many deliveries' ids, a hundred at a time; a batch that fails is sent one by one (each failure logged).
 * A row whose message is still lost is due, and the cron re-drive picks it up.
 */
export async function enqueueMany(queue: Queue<DeliveryMessage>, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH_MAX) {
    const chunk = ids.slice(i, i + BATCH_MAX);
    try {
      await queue.sendBatch(chunk.map((id) => ({ body: { id } })));
    } catch (err) {
      console.error(`queue sendBatch of ${chunk.length} failed; sending them one by one`, err);
      for (const id of chunk) await enqueue(queue, id);
    }
  }
}
