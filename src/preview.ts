/**
 * Preview: what a webhook would do under a configuration, without calling the CRM or writing a row.
 * The sample is parsed, normalised by the preset, checked against skipWhen, mapped (with a warning for
 * every expression that yields nothing, every map miss, a customer id that is no id, a missing required
 * field), and the customer looked up in D1 (read only). The answer is the CRM request that would be sent.
 */
import { maskedHeaders, type CrmSettings } from './crm/client';
import { resolveCustomer } from './crm/deliver';
import { needsCurrent, planUpdate } from './customers/update';
import type { EndpointConfig } from './endpoints/schema';
import { compileMapping, type CompiledMapping } from './mapping/compile';
import { idempotencyKeyOf, mapPayload, shouldSkip } from './mapping/map';
import { viewOf } from './presets';
import { parseBody } from './receive/body';

export type Sample = { bytes: Uint8Array; contentType: string | null; headers: Record<string, string>; query: Record<string, string | string[]> };

export type PreviewResult = {
  outcome: 'would_deliver' | 'would_skip' | 'would_refuse' | 'unmatched' | 'conflict' | 'nothing_to_send';
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

export async function previewWebhook(db: D1Database, crm: CrmSettings, config: EndpointConfig, sample: Sample, mapping?: CompiledMapping): Promise<PreviewResult> {
  const empty = { customerId: null, idempotencyKey: null, crm: null, readsCurrentRecord: false };
  if (!mapping) {
    const compiled = compileMapping(config);
    if (!compiled.ok) return { ...empty, outcome: 'would_refuse', reason: 'endpoint_misconfigured', message: compiled.issues.map((i) => `${i.path}: ${i.message}`).join('; '), warnings: [] };
    mapping = compiled.mapping;
  }
  const parsed = await parseBody(sample.bytes, sample.contentType);
  if (!parsed.ok) return { ...empty, outcome: 'would_refuse', reason: parsed.reason, message: parsed.message, warnings: [] };
  const warnings = [...parsed.warnings];
  const input = { body: viewOf(config.preset, parsed.value), headers: sample.headers, query: sample.query };
  const skip = await shouldSkip(mapping, input);
  if (skip.warning) warnings.push(skip.warning);
  if (skip.skip) return { ...empty, outcome: 'would_skip', reason: 'skip_when', view: input.body, warnings };

  const mapped = await mapPayload(mapping, input, { explain: true });
  warnings.push(...mapped.warnings);
  const key = await idempotencyKeyOf(mapping, config.idempotencyKey, input);
  if (key.warning) warnings.push(key.warning);
  const base = { ...empty, view: input.body, idempotencyKey: key.value ?? null };
  if (!mapped.ok) {
    warnings.push(mapped.message);
    const unmatched = mapped.reason === 'customer_unresolved' && mapped.kind === 'missing';
    return { ...base, outcome: unmatched ? 'unmatched' : 'would_refuse', reason: mapped.reason, message: mapped.message, warnings };
  }

  // the same resolution as a delivery (read only); the preview names the values it looked for
  const resolved = await resolveCustomer(db, config.crm.moduleId, mapped);
  if ('kind' in resolved) {
    const looked = (mapped.lookups ?? []).map((l) => `${l.key}=${l.value}`).join(', ') || 'any lookup key';
    const message = resolved.kind === 'unmatched' ? `no customer for ${looked}` : resolved.message;
    warnings.push(message);
    return { ...base, outcome: resolved.kind, reason: 'customer_unresolved', message, warnings };
  }
  const customerId = resolved.id;
  if (resolved.foundBy.length > 0) warnings.push(`customer found by ${resolved.foundBy.join(', ')}`);
  const readsCurrentRecord = needsCurrent(config.update, mapping.overwrites);
  const plan = planUpdate(config.update, mapped.fields, mapping.overwrites, null);
  if (plan.kind === 'unchanged') return { ...base, customerId, readsCurrentRecord, outcome: 'nothing_to_send', message: 'no mapped field has a value', warnings };
  if (readsCurrentRecord) warnings.push(`update.mode ${config.update.mode}: the current record is read first, and the body is adjusted to it`);
  const body = { mid: config.crm.moduleId, id: customerId, ...plan.body };
  return {
    ...base,
    outcome: 'would_deliver',
    customerId,
    readsCurrentRecord,
    crm: { url: `${crm.baseUrl}/api/moduleData/update`, headers: maskedHeaders(crm, config.crm.productLineId), body },
    warnings,
  };
}
