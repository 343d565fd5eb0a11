/**
 * The Worker's side of coordination: which customer sequence a delivery belongs to, its turn, and the CRM's slots.
 * Every call here is answered even when a Durable Object cannot be reached: the delivery then waits (in the queue)
 * rather than calling the CRM out of turn or past its limits.
 */
import type { CrmGate, GateOutcome, GateStatus, Slot } from './gate';
import { DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_PER_SECOND, DEFAULT_PAUSE_AFTER_FAILURES, type GateLimits } from './limits';
import type { CustomerSequence, Ticket, Turn, TurnEnd } from './sequence';

export type { GateOutcome, GateStatus, Slot, Ticket, Turn, TurnEnd };
export { compareVersions, versionText } from './version';

export type Coordination = {
  sequences: DurableObjectNamespace<CustomerSequence>;
  gates: DurableObjectNamespace<CrmGate>;
  limits: GateLimits;
  /** `crm`: one set of limits for the whole CRM (default); `product-line`: one per product line. */
  scope: 'crm' | 'product-line';
  crmName: string;
};

/** How long the sequence and a CRM slot are held for one delivery whose Worker stops mid-call. */
const TURN_LEASE_MARGIN_MS = 30_000;
/** When a Durable Object cannot be reached: try again after this long (from the queue). */
const UNREACHABLE_RETRY_MS = 30_000;

const positive = (value: string | undefined, fallback: number) => {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
};

/** The coordination bindings and the CRM limits, from the Worker's env. */
export function coordinationOf(env: Env): Coordination {
  return {
    sequences: env.SEQUENCES,
    gates: env.CRM_GATE,
    limits: {
      maxConcurrency: positive(env.CRM_MAX_CONCURRENCY, DEFAULT_MAX_CONCURRENCY),
      maxPerSecond: positive(env.CRM_MAX_PER_SECOND, DEFAULT_MAX_PER_SECOND),
      pauseAfterFailures: positive(env.CRM_PAUSE_AFTER_FAILURES, DEFAULT_PAUSE_AFTER_FAILURES),
    },
    scope: env.CRM_LIMIT_SCOPE === 'product-line' ? 'product-line' : 'crm',
    crmName: env.CRM_BASE_URL,
  };
}

/**
 * The sequence a customer's deliveries share: product line, module and customer id; before the id is known, the
 * first lookup key that has a value (two webhooks with the same phone wait for each other).
 */
export function sequenceKey(productLineId: string, moduleId: string, customer: { id: string } | { key: string; value: string }): string {
  return 'id' in customer ? `${productLineId}:${moduleId}:${customer.id}` : `${productLineId}:${moduleId}:${customer.key}=${customer.value}`;
}

const sequence = (c: Coordination, key: string) => c.sequences.get(c.sequences.idFromName(key));

/** Asks for a delivery's turn in its customer's sequence. */
export async function takeTurn(c: Coordination, key: string, ticket: Ticket, options: { timeoutMs: number; force?: boolean; waitMs?: number }): Promise<Turn> {
  try {
    return await sequence(c, key).acquire(ticket, { leaseMs: options.timeoutMs * 2 + TURN_LEASE_MARGIN_MS, force: options.force, waitMs: options.waitMs });
  } catch (err) {
    console.error(`customer sequence ${key} unreachable; the delivery waits`, err);
    return { kind: 'wait', head: ticket.deliveryId, running: false, retryInMs: UNREACHABLE_RETRY_MS };
  }
}

/** Takes a place in line at receipt (queue mode). A failure is logged: the attempt takes its place then. */
export async function joinSequence(c: Coordination, key: string, ticket: Ticket): Promise<void> {
  try {
    await sequence(c, key).register(ticket);
  } catch (err) {
    console.error(`customer sequence ${key} unreachable at receipt; the attempt registers`, err);
  }
}

/** Ends a turn; returns the delivery whose turn comes next, to be queued now. */
export async function endTurn(c: Coordination, key: string, ticket: Ticket, end: TurnEnd): Promise<string | null> {
  try {
    return (await sequence(c, key).release(ticket, end)).next;
  } catch (err) {
    // the turn lapses with its lease; the next delivery's own retry finds the way free
    console.error(`customer sequence ${key}: the turn could not be given back`, err);
    return null;
  }
}

/** What a customer sequence holds (admin). */
export async function sequenceStatus(c: Coordination, key: string) {
  return sequence(c, key).status();
}

const gate = (c: Coordination, productLineId: string) => c.gates.get(c.gates.idFromName(c.scope === 'product-line' ? `product-line:${productLineId}` : `crm:${c.crmName}`));

/** A CRM slot for one delivery's calls (`calls`: 2 when the record is read first). */
export async function takeSlot(c: Coordination, productLineId: string, calls: number, maxWaitMs: number): Promise<Slot> {
  try {
    return await gate(c, productLineId).acquire(calls, maxWaitMs, c.limits);
  } catch (err) {
    console.error('CRM gate unreachable; the delivery waits', err);
    return { granted: false, state: 'busy', retryInMs: UNREACHABLE_RETRY_MS, why: 'the CRM gate (a Durable Object) could not be reached' };
  }
}

/** Gives a slot back with what the CRM did. Never throws. */
export async function giveSlot(c: Coordination, productLineId: string, slot: string, outcome: GateOutcome): Promise<void> {
  try {
    await gate(c, productLineId).release(slot, outcome);
  } catch (err) {
    console.error('CRM gate unreachable: the slot lapses with its lease', err);
  }
}

/** Whether the CRM's calls are paused, and why (console, admin). */
export async function gateStatus(c: Coordination, productLineId: string): Promise<GateStatus> {
  return gate(c, productLineId).status(c.limits);
}

/** Ends a pause now: the next call probes the CRM. */
export async function resumeGate(c: Coordination, productLineId: string): Promise<void> {
  await gate(c, productLineId).resume();
}
