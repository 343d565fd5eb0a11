/**
 * Preview: what a webhook would do under a configuration, without calling the CRM or writing a row.
 * The sample is parsed, normalised by the preset, checked against skipWhen, mapped (with a warning for
 * every expression that yields nothing, every map miss, a customer id that is no id, a missing required
 * field), and the customer looked up in D1 (read only). The answer is the CRM request that would be sent.
 */
import { type CrmEnv, type CrmSettings, crmSettings, maskedHeaders } from '../crm/client';
import { resolveCustomer, whyNotCreate } from './deliver';
import { needsCurrent, planUpdate } from '../customers/update';
import type { EndpointConfig } from '../endpoints/schema';
import { compileMapping, type CompiledMapping } from '../mapping/compile';
import { getDeliveryRow } from '../deliveries/store';
import { getEndpoint } from '../endpoints/store';
import { storedBody } from './attempt';
import { isUnmatched, type Prepared, prepare } from './core';
import { parseJsonOr } from '../shared/json';
import { viewOf } from '../presets';
import { parseBody } from '../receive/body';
import { redactPaths, scrubValue, sensitiveForms } from '../deliveries/redact';

export type Sample = {
  bytes: Uint8Array;
  contentType: string | null;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
};

export type PreviewResult = {
  outcome:
    | 'would_deliver'
    | 'would_create'
    | 'would_skip'
    | 'would_refuse'
    | 'unmatched'
    | 'conflict'
    | 'nothing_to_send';
  reason?: string;
  message?: string;
  /** The payload as the field mapping sees it (after the preset's normalisation). */
  view?: unknown;
  customerId: string | null;
  idempotencyKey: string | null;
  crm: { url: string; headers: Record<string, string>; body: Record<string, unknown> } | null;
  /** Under fill-empty, merge, keepOwner or skipUnchanged the record is read first: the body then changes with it. */
  readsCurrentRecord: boolean;
  warnings: string[];
};

/**
 * What a sample would do under a configuration: the core's `prepare` and customer resolution, stopping before the CRM
 * call.
 */
export async function previewWebhook(
  db: D1Database,
  crm: CrmSettings,
  config: EndpointConfig,
  sample: Sample,
  mapping?: CompiledMapping,
): Promise<PreviewResult> {
  const empty = { customerId: null, idempotencyKey: null, crm: null, readsCurrentRecord: false };
  if (!mapping) {
    const compiled = compileMapping(config);
    if (!compiled.ok)
      return {
        ...empty,
        outcome: 'would_refuse',
        reason: 'endpoint_misconfigured',
        message: compiled.issues.map((i) => `${i.path}: ${i.message}`).join('; '),
        warnings: [],
      };
    mapping = compiled.mapping;
  }
  const prepared = await prepare(config, mapping, sample, { explain: true });
  // what `redact` hides in the log is hidden here too: the view, the CRM body, every message and warning
  const hidden =
    prepared.ok || prepared.step !== 'parse' ? hiddenForms(prepared.value, config.redact) : new Map<string, string>();
  const masked = (result: PreviewResult): PreviewResult => (hidden.size === 0 ? result : scrubValue(result, hidden));
  const { warnings } = prepared;
  if (!prepared.ok && prepared.step === 'parse')
    return {
      ...empty,
      outcome: 'would_refuse',
      reason: prepared.failure.reason,
      message: prepared.failure.message,
      warnings,
    };
  if (!prepared.ok && prepared.step === 'skip')
    return masked({ ...empty, outcome: 'would_skip', reason: 'skip_when', view: prepared.view, warnings });
  if (!prepared.ok) {
    warnings.push(prepared.failure.message);
    return masked({
      ...empty,
      view: prepared.view,
      outcome: isUnmatched(prepared.failure) ? 'unmatched' : 'would_refuse',
      reason: prepared.failure.reason,
      message: prepared.failure.message,
      warnings,
    });
  }
  return masked(
    await previewCrmCall(db, crm, config, mapping, prepared, {
      ...empty,
      view: prepared.input.body,
      idempotencyKey: prepared.key,
    }),
  );
}

/** The values an endpoint's `redact` hides in a parsed body, in every form they may take (digits of a phone, ...). */
export function hiddenForms(value: unknown, redact: string[] | undefined): Map<string, string> {
  return redact?.length ? sensitiveForms(redactPaths(value, redact).originals) : new Map();
}

/** The customer resolved as a delivery would (read only) and the CRM request that would be sent. */
async function previewCrmCall(
  db: D1Database,
  crm: CrmSettings,
  config: EndpointConfig,
  mapping: CompiledMapping,
  prepared: Extract<Prepared, { ok: true }>,
  base: Omit<PreviewResult, 'outcome' | 'warnings'>,
): Promise<PreviewResult> {
  const { mapped, warnings } = prepared;
  const resolved = await resolveCustomer(db, config.crm.moduleId, mapped);
  if ('kind' in resolved) {
    // the preview names the values it looked for
    const looked = (mapped.lookups ?? []).map((l) => `${l.key}=${l.value}`).join(', ') || 'any lookup key';
    const whyNot = resolved.kind === 'unmatched' ? whyNotCreate(config.onUnmatched, crm, mapped) : 'keep';
    if (whyNot === null) {
      // a new customer: the create call's body, so a value map can be checked before going live
      warnings.push(`no customer for ${looked}: it would be created (onUnmatched "create"), once`);
      const plan = planUpdate(config.update, mapped.fields, mapping.overwrites, null);
      const body = { mid: config.crm.moduleId, ...(plan.kind === 'send' ? plan.body : {}) };
      const request = {
        url: `${crm.baseUrl}${crm.createPath}`,
        headers: maskedHeaders(crm, config.crm.productLineId),
        body,
      };
      return { ...base, outcome: 'would_create', readsCurrentRecord: false, crm: request, warnings };
    }
    const message =
      resolved.kind === 'unmatched'
        ? `no customer for ${looked}${whyNot === 'keep' ? '' : `; ${whyNot}`}`
        : resolved.message;
    warnings.push(message);
    return { ...base, outcome: resolved.kind, reason: 'customer_unresolved', message, warnings };
  }
  const customerId = resolved.id;
  if (resolved.foundBy.length > 0) warnings.push(`customer found by ${resolved.foundBy.join(', ')}`);
  const readsCurrentRecord = needsCurrent(config.update, mapping.overwrites);
  const plan = planUpdate(config.update, mapped.fields, mapping.overwrites, null);
  if (plan.kind === 'unchanged')
    return {
      ...base,
      customerId,
      readsCurrentRecord,
      outcome: 'nothing_to_send',
      message: 'no mapped field has a value',
      warnings,
    };
  if (readsCurrentRecord)
    warnings.push(
      `update.mode ${config.update.mode}: the current record is read first, and the body is adjusted to it`,
    );
  const body = { mid: config.crm.moduleId, id: customerId, ...plan.body };
  const request = {
    url: `${crm.baseUrl}/api/moduleData/update`,
    headers: maskedHeaders(crm, config.crm.productLineId),
    body,
  };
  return { ...base, outcome: 'would_deliver', customerId, readsCurrentRecord, crm: request, warnings };
}

/** What a replay of a logged delivery would send now (the admin API's and the console's preview-replay). */
export async function previewOfDelivery(
  env: Pick<Env, 'DB' | 'ENDPOINTS'> & CrmEnv,
  id: string,
): Promise<{ ok: true; endpointId: string; result: PreviewResult } | Extract<StoredSample, { ok: false }>> {
  const stored = await storedSample(env.DB, id);
  if (!stored.ok) return stored;
  const endpoint = await getEndpoint(env.ENDPOINTS, stored.endpointId);
  if (!endpoint) return { ok: false, why: 'not_found', message: `Endpoint ${stored.endpointId} no longer exists` };
  return {
    ok: true,
    endpointId: stored.endpointId,
    result: await previewWebhook(env.DB, crmSettings(env), endpoint.config, stored.sample),
  };
}

export type StoredSample =
  | { ok: true; endpointId: string; sample: Sample }
  | { ok: false; why: 'not_found' | 'not_replayable'; message: string };

/** A logged delivery as a sample request (its stored body, content type, headers and query), if it can be replayed. */
export async function storedSample(db: D1Database, id: string): Promise<StoredSample> {
  const row = await getDeliveryRow(db, id);
  if (!row) return { ok: false, why: 'not_found', message: 'No such delivery' };
  const bytes = storedBody(row);
  if (!bytes || row.verified !== 1)
    return {
      ok: false,
      why: 'not_replayable',
      message: bytes ? 'The request was never verified' : 'The stored body was removed by retention',
    };
  return {
    ok: true,
    endpointId: row.endpoint_id,
    sample: {
      bytes,
      contentType: row.content_type,
      headers: parseJsonOr(row.request_headers, {}),
      query: parseJsonOr(row.request_query, {}),
    },
  };
}

/**
 * A sample as the mapping would see it under a preset (parsed and normalised), whether or not the configuration is
 * valid yet.
 */
export async function sampleView(presetName: string | undefined, sample: Sample, redact?: string[]): Promise<unknown> {
  const parsed = await parseBody(sample.bytes, sample.contentType);
  if (!parsed.ok) return undefined;
  const view = viewOf(presetName, parsed.value);
  const hidden = hiddenForms(parsed.value, redact);
  return hidden.size === 0 ? view : scrubValue(view, hidden);
}
