/**
 * The deliver step: find the customer (the payload's id, else the lookup keys); then, in the customer's turn and with
 * a CRM slot (./turn.ts), read the current record when the update mode needs it, send only what should change, and
 * learn keys from the answer. Used inline (sync) and by the queue consumer; it never throws for anything the CRM can do.
 */
import { findKeys, learnStatement } from '../customers/keys';
import { needsCurrent, planUpdate, type UpdateConfig } from '../customers/update';
import type { CompiledMapping } from '../mapping/compile';
import type { MapResult } from '../mapping/map';
import { readCustomer, updateCustomer, type CrmResult, type CrmSettings } from '../crm/client';
import type { GateOutcome } from '../coordination';

export type DeliverDeps = { db: D1Database; fetch: typeof fetch; crm: CrmSettings; now: () => number };

type Target = { moduleId: string; productLineId: string; update: UpdateConfig };

export type Delivered =
  /** `after`: statements to write with the delivery (keys learned from the answer). */
  | { kind: 'delivered'; customerId: string; result: Extract<CrmResult, { ok: true }>; after: D1PreparedStatement[]; skipped: string[] }
  /** Nothing to change: no update call was made (`result` is the detail read, if any). */
  | { kind: 'unchanged'; customerId: string; result: CrmResult | null; message: string }
  | { kind: 'unmatched'; message: string }
  | { kind: 'conflict'; message: string; customerIds: string[] }
  | { kind: 'failed'; customerId: string; result: Extract<CrmResult, { ok: false }>; step: 'detail' | 'update' };

export type Resolved = { id: string; foundBy: string[] };

/** Finds the customer: the payload's id, else the lookup keys, every key that matches agreeing (`foundBy`: those keys). */
export async function resolveCustomer(
  db: D1Database,
  moduleId: string,
  mapped: Extract<MapResult, { ok: true }>,
): Promise<Resolved | Extract<Delivered, { kind: 'unmatched' | 'conflict' }>> {
  if (mapped.customerId !== null) return { id: mapped.customerId, foundBy: [] };
  if (mapped.lookups.length === 0) return { kind: 'unmatched', message: 'no customer id, and no lookup key had a value' };
  const rows = await findKeys(db, moduleId, mapped.lookups);
  const ids = [...new Set(rows.map((r) => r.customer_id))];
  if (ids.length === 0) return { kind: 'unmatched', message: `no customer for ${mapped.lookups.map((l) => l.key).join(', ')} (import keys, then replay)` };
  if (ids.length > 1) {
    const which = rows.map((r) => `${r.key} -> ${r.customer_id}`).join(', ');
    return { kind: 'conflict', customerIds: ids, message: `keys point to different customers: ${which}` };
  }
  return { id: ids[0]!, foundBy: rows.map((r) => r.key) };
}

/** How many CRM calls a delivery will make: 2 with a read first, 1 for the update alone, 0 when nothing is to be sent. */
export function callsFor(target: Target, mapping: CompiledMapping, mapped: Extract<MapResult, { ok: true }>): number {
  if (needsCurrent(target.update, mapping.overwrites)) return 2;
  return planUpdate(target.update, mapped.fields, mapping.overwrites, null).kind === 'unchanged' ? 0 : 1;
}

/** Delivers a mapped webhook to its customer, found already (`resolveCustomer`), in the customer's turn and with its slot. */
export async function deliverToCrm(deps: DeliverDeps, target: Target, mapping: CompiledMapping, mapped: Extract<MapResult, { ok: true }>, customer: Resolved): Promise<Delivered> {
  return callCrm(deps, target, mapping, mapped, customer.id, needsCurrent(target.update, mapping.overwrites));
}

/** What a delivery tells the CRM's limits: only an outage (5xx, timeout, 429) counts towards pausing every call. */
export function gateOutcomeOf(delivered: Delivered): GateOutcome {
  const result = 'result' in delivered ? delivered.result : null;
  if (!result || result.ok || result.error === 'crm_rejected') return { kind: 'ok' };
  return { kind: 'retryable', ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}) };
}

/** The read (when the update mode needs the record), the plan and the update: the calls one slot covers. */
async function callCrm(
  deps: DeliverDeps,
  target: Target,
  mapping: CompiledMapping,
  mapped: Extract<MapResult, { ok: true }>,
  customerId: string,
  read: boolean,
): Promise<Delivered> {
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
      message: current ? 'every mapped value is already in the CRM (or left alone by fill-empty): no update sent' : 'no mapped field had a value: no update sent',
    };
  }
  const result = await updateCustomer(deps.fetch, deps.crm, target.productLineId, { mid: target.moduleId, id: customerId, ...plan.body });
  if (!result.ok) return { kind: 'failed', customerId, result, step: 'update' };
  const learn = learnStatement(deps.db, target.moduleId, result.item, deps.now());
  return { kind: 'delivered', customerId, result, after: learn ? [learn] : [], skipped: plan.skipped };
}
