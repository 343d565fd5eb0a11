/**
 * The deliver step: find the customer (the payload's id, else the lookup keys), read the current
 * record when the update mode needs it, send only what should change, and learn keys from the answer.
 * Used inline (sync) and by the queue consumer; it never throws for anything the CRM can do.
 */
import { findKeys, learnStatement } from '../customers/keys';
import { needsCurrent, planUpdate, type UpdateConfig } from '../customers/update';
import type { CompiledMapping } from '../mapping/compile';
import type { MapResult } from '../mapping/map';
import { readCustomer, updateCustomer, type CrmResult, type CrmSettings } from '../crm/client';

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

/** Finds the customer: the payload's id, else the lookup keys, every key that matches agreeing (`foundBy`: those keys). */
export async function resolveCustomer(
  db: D1Database,
  moduleId: string,
  mapped: Extract<MapResult, { ok: true }>,
): Promise<{ id: string; foundBy: string[] } | Extract<Delivered, { kind: 'unmatched' | 'conflict' }>> {
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

export async function deliverToCrm(deps: DeliverDeps, target: Target, mapping: CompiledMapping, mapped: Extract<MapResult, { ok: true }>): Promise<Delivered> {
  const resolved = await resolveCustomer(deps.db, target.moduleId, mapped);
  if ('kind' in resolved) return resolved;
  const customerId = resolved.id;

  let current: Record<string, unknown> | null = null;
  let detail: CrmResult | null = null;
  if (needsCurrent(target.update, mapping.overwrites)) {
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
