/**
 * The deliver step: find the customer (the payload's id, else the lookup keys); then, in the customer's turn and with
 * a CRM slot (./turn.ts), read the current record when the update mode needs it, send only what should change, and
 * learn keys from the answer. Used inline (sync) and by the queue consumer; it never throws for anything the CRM can
 * do.
 */
import { findKeys, importKeys, learnStatement, normaliseKey } from '../customers/keys';
import { needsCurrent, planUpdate, type UpdateConfig } from '../customers/update';
import type { CompiledMapping } from '../mapping/compile';
import type { MapResult } from '../mapping/map';
import { createCustomer, readCustomer, updateCustomer, type CrmResult, type CrmSettings } from '../crm/client';
import { isCanonicalId } from '../shared/ids';
import type { GateOutcome } from '../coordination';

export type DeliverDeps = { db: D1Database; fetch: typeof fetch; crm: CrmSettings; now: () => number };

type Target = { moduleId: string; productLineId: string; update: UpdateConfig };

export type Delivered =
  /** `after`: statements to write with the delivery (keys learned from the answer). */
  | {
      kind: 'delivered';
      customerId: string;
      result: Extract<CrmResult, { ok: true }>;
      after: D1PreparedStatement[];
      skipped: string[];
    }
  /** Nothing to change: no update call was made (`result` is the detail read, if any). */
  | { kind: 'unchanged'; customerId: string; result: CrmResult | null; message: string }
  | { kind: 'unmatched'; message: string }
  | { kind: 'conflict'; message: string; customerIds: string[] }
  /** A new customer, created by this delivery (its lookup keys learned already: the next webhook finds it). */
  | {
      kind: 'created';
      customerId: string;
      result: Extract<CrmResult, { ok: true }>;
      after: D1PreparedStatement[];
      skipped: string[];
    }
  /**
   * A create call whose outcome is unknown (a timeout, a 5xx, an answer without an id, an earlier try that stopped): a
   * person checks the CRM.
   */
  | { kind: 'unconfirmed'; message: string; result: CrmResult | null }
  | {
      kind: 'failed';
      customerId: string | null;
      result: Extract<CrmResult, { ok: false }>;
      step: 'detail' | 'update' | 'create';
    };

/** What an update of a found customer can end as (creation adds `created` and `unconfirmed`). */
export type UpdateDelivered = Exclude<Delivered, { kind: 'created' | 'unconfirmed' }>;

export type Resolved = { id: string; foundBy: string[] };

/**
 * Finds the customer: the payload's id, else the lookup keys, every key that matches agreeing (`foundBy`: those keys).
 */
export async function resolveCustomer(
  db: D1Database,
  moduleId: string,
  mapped: Extract<MapResult, { ok: true }>,
): Promise<Resolved | Extract<Delivered, { kind: 'unmatched' | 'conflict' }>> {
  if (mapped.customerId !== null) return { id: mapped.customerId, foundBy: [] };
  if (mapped.lookups.length === 0)
    return { kind: 'unmatched', message: 'no customer id, and no lookup key had a value' };
  const rows = await findKeys(db, moduleId, mapped.lookups);
  const ids = [...new Set(rows.map((r) => r.customer_id))];
  if (ids.length === 0)
    return {
      kind: 'unmatched',
      message: `no customer for ${mapped.lookups.map((l) => l.key).join(', ')} (import keys, then replay)`,
    };
  if (ids.length > 1) {
    const which = rows.map((r) => `${r.key} -> ${r.customer_id}`).join(', ');
    return { kind: 'conflict', customerIds: ids, message: `keys point to different customers: ${which}` };
  }
  return { id: ids[0]!, foundBy: rows.map((r) => r.key) };
}

/**
 * Whether a delivery whose customer cannot be found creates one: the endpoint says `onUnmatched: "create"`, the CRM's
 * create call is configured (CRM_CREATE_PATH), and the lead has a lookup key (a lead nobody can be named by is
 * never created blind). `null` when it does; else why not, for the row's message.
 */
export function whyNotCreate(
  onUnmatched: 'keep' | 'create',
  crm: CrmSettings,
  mapped: Extract<MapResult, { ok: true }>,
): string | null {
  if (onUnmatched !== 'create') return 'keep';
  if (!crm.createPath) return 'creation is on for this endpoint, but CRM_CREATE_PATH is not set: nothing was created';
  if ((mapped.lookups ?? []).length === 0)
    return 'creation is on, but the lead has no lookup key (no phone, no lead id): it is never created blind';
  return null;
}

/** An unmatched delivery's message, with why it was not created when the endpoint asked for creation. */
export function withWhyNot<T extends Extract<Delivered, { kind: 'unmatched' | 'conflict' }>>(
  found: T,
  whyNot: string,
): T {
  return whyNot === 'keep' || found.kind !== 'unmatched' ? found : { ...found, message: `${found.message}; ${whyNot}` };
}

/**
 * What a delivery that may create knows of its earlier tries: whether one began a create, and how to record that this
 * one does.
 */
export type CreateIntent = { startedBefore: boolean; markStarted: () => Promise<unknown> };

/**
 * Find, else create, in the customer's turn (its sequence is the first lookup key's, so two webhooks of one new
 * person never create twice): the keys are looked up again (an earlier delivery in line may have created the
 * customer), then the customer is updated, or created with the mapped fields and its lookup keys learned for the new
 * id before the turn ends. A create whose outcome cannot be known is never made again on its own (`unconfirmed`).
 */
export async function findOrCreate(
  deps: DeliverDeps,
  target: Target,
  mapping: CompiledMapping,
  mapped: Extract<MapResult, { ok: true }>,
  intent: CreateIntent,
): Promise<Delivered> {
  const found = await resolveCustomer(deps.db, target.moduleId, mapped);
  if (!('kind' in found)) return deliverToCrm(deps, target, mapping, mapped, found);
  if (found.kind === 'conflict') return found;
  const keys = (mapped.lookups ?? []).map((l) => `${l.key} ${l.value}`).join(', ');
  if (intent.startedBefore) {
    return {
      kind: 'unconfirmed',
      result: null,
      message: `an earlier try began creating this customer and stopped before its answer: search the CRM for ${keys}`,
    };
  }
  const plan = planUpdate(target.update, mapped.fields, mapping.overwrites, null);
  const body = { mid: target.moduleId, ...(plan.kind === 'send' ? plan.body : {}) };
  await intent.markStarted();
  const result = await createCustomer(deps.fetch, deps.crm, deps.crm.createPath!, target.productLineId, body);
  if (!result.ok) {
    // refused (or 429: surely not created): a failure like any; anything else may have created it
    if (result.error === 'crm_rejected' || result.httpStatus === 429)
      return { kind: 'failed', customerId: null, result, step: 'create' };
    return {
      kind: 'unconfirmed',
      result,
      message: `the create call's outcome is unknown (${result.message}): search the CRM for ${keys}`,
    };
  }
  const id = result.item?.id;
  if (typeof id !== 'string' || !isCanonicalId(id)) {
    const answer = (result.responseText ?? '').slice(0, 300);
    return {
      kind: 'unconfirmed',
      result,
      message: `the CRM answered code 200 without data.item.id (${answer}): search the CRM for ${keys}`,
    };
  }
  await learnLookups(deps.db, target.moduleId, mapped.lookups ?? [], id, deps.now());
  const learn = learnStatement(deps.db, target.moduleId, result.item, deps.now());
  return {
    kind: 'created',
    customerId: id,
    result,
    after: learn ? [learn] : [],
    skipped: plan.kind === 'send' ? plan.skipped : [],
  };
}

/** The lead's lookup keys, learned for a customer (awaited: the next delivery in line must find them). */
export async function learnLookups(
  db: D1Database,
  moduleId: string,
  lookups: { key: string; value: string }[],
  customerId: string,
  now: number,
): Promise<void> {
  const rows = lookups.flatMap((l) => {
    const value = normaliseKey(l.key, l.value);
    return value === null ? [] : [{ customer_id: customerId, key: l.key, value }];
  });
  if (rows.length > 0) await importKeys(db, moduleId, rows, 'learned', now);
}

/**
 * How many CRM calls a delivery will make: 2 with a read first, 1 for the update alone, 0 when nothing is to be sent.
 */
export function callsFor(target: Target, mapping: CompiledMapping, mapped: Extract<MapResult, { ok: true }>): number {
  if (needsCurrent(target.update, mapping.overwrites)) return 2;
  return planUpdate(target.update, mapped.fields, mapping.overwrites, null).kind === 'unchanged' ? 0 : 1;
}

/**
 * Delivers a mapped webhook to its customer, found already (`resolveCustomer`), in the customer's turn and with its
 * slot.
 */
export async function deliverToCrm(
  deps: DeliverDeps,
  target: Target,
  mapping: CompiledMapping,
  mapped: Extract<MapResult, { ok: true }>,
  customer: Resolved,
): Promise<UpdateDelivered> {
  return callCrm(deps, target, mapping, mapped, customer.id, needsCurrent(target.update, mapping.overwrites));
}

/** What a delivery tells the CRM's limits: only an outage (5xx, timeout, 429) counts towards pausing every call. */
export function gateOutcomeOf(delivered: Delivered): GateOutcome {
  const result = 'result' in delivered ? delivered.result : null;
  if (!result || result.ok || result.error === 'crm_rejected') return { kind: 'ok' };
  return {
    kind: 'retryable',
    ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
  };
}

/** The read (when the update mode needs the record), the plan and the update: the calls one slot covers. */
async function callCrm(
  deps: DeliverDeps,
  target: Target,
  mapping: CompiledMapping,
  mapped: Extract<MapResult, { ok: true }>,
  customerId: string,
  read: boolean,
): Promise<UpdateDelivered> {
  let current: Record<string, unknown> | null = null;
  let detail: CrmResult | null = null;
  if (read) {
    detail = await readCustomer(deps.fetch, deps.crm, target.productLineId, target.moduleId, customerId);
    if (!detail.ok) return { kind: 'failed', customerId, result: detail, step: 'detail' };
    current = detail.item ?? {};
  }
  const plan = planUpdate(target.update, mapped.fields, mapping.overwrites, current);
  if (plan.kind === 'unchanged') {
    return {
      kind: 'unchanged',
      customerId,
      result: detail,
      message: current
        ? 'every mapped value is already in the CRM (or left alone by fill-empty): no update sent'
        : 'no mapped field had a value: no update sent',
    };
  }
  const result = await updateCustomer(deps.fetch, deps.crm, target.productLineId, {
    mid: target.moduleId,
    id: customerId,
    ...plan.body,
  });
  if (!result.ok) return { kind: 'failed', customerId, result, step: 'update' };
  const learn = learnStatement(deps.db, target.moduleId, result.item, deps.now());
  return { kind: 'delivered', customerId, result, after: learn ? [learn] : [], skipped: plan.skipped };
}
