/**
 * The Worker's side of coordination (./coordinator.ts): which customer sequence a delivery belongs to, beginning and
 * ending its turn (with its CRM slot), and the CRM's pause. Every call here is answered even when the Durable Object
 * cannot be reached: the delivery then waits (in the queue) rather than calling the CRM out of turn or past its limits.
 */
import type { Begin, BeginRequest, CrmCoordinator, EndRequest, Place } from './coordinator';
import {
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_PER_SECOND,
  DEFAULT_PAUSE_AFTER_FAILURES,
  type GateLimits,
  type GateOutcome,
  type GateStatus,
} from './limits';
import type { Ticket, Turn, TurnEnd } from './sequences';

export type { Begin, GateOutcome, GateStatus, Place, Ticket, Turn, TurnEnd };
export { compareVersions, versionText } from './version';

export type Coordination = {
  coordinators: DurableObjectNamespace<CrmCoordinator>;
  limits: GateLimits;
  /** `crm`: one coordinator (one set of limits) for the whole CRM (default); `product-line`: one per product line. */
  scope: 'crm' | 'product-line';
};

/** How long a turn and its slot are held for a delivery whose Worker stops mid-call. */
const TURN_LEASE_MARGIN_MS = 30_000;
/** When the coordinator cannot be reached: try again after this long (from the queue). */
const UNREACHABLE_RETRY_MS = 30_000;

const positive = (value: string | undefined, fallback: number) => {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
};

/** The Worker bindings and variables the coordination is configured by. */
export type CoordinationEnv = Pick<
  Env,
  'COORDINATOR' | 'CRM_MAX_CONCURRENCY' | 'CRM_MAX_PER_SECOND' | 'CRM_PAUSE_AFTER_FAILURES' | 'CRM_LIMIT_SCOPE'
>;

/** The coordinator binding and the CRM limits, from the Worker's env. */
export function coordinationOf(env: CoordinationEnv): Coordination {
  return {
    coordinators: env.COORDINATOR,
    limits: {
      maxConcurrency: positive(env.CRM_MAX_CONCURRENCY, DEFAULT_MAX_CONCURRENCY),
      maxPerSecond: positive(env.CRM_MAX_PER_SECOND, DEFAULT_MAX_PER_SECOND),
      pauseAfterFailures: positive(env.CRM_PAUSE_AFTER_FAILURES, DEFAULT_PAUSE_AFTER_FAILURES),
    },
    scope: env.CRM_LIMIT_SCOPE === 'product-line' ? 'product-line' : 'crm',
  };
}

/**
 * The sequence a customer's deliveries share: product line, module and customer id; before the id is known, the
 * first lookup key that has a value (two webhooks with the same phone wait for each other).
 */
export function sequenceKey(
  productLineId: string,
  moduleId: string,
  customer: { id: string } | { key: string; value: string },
): string {
  return 'id' in customer
    ? `${productLineId}:${moduleId}:${customer.id}`
    : `${productLineId}:${moduleId}:${customer.key}=${customer.value}`;
}

/** Whether a sequence key names the customer by a lookup key's value (not yet by its id). */
export const isLookupSequence = (key: string): boolean => key.split(':').slice(2).join(':').includes('=');

/** The product line a sequence key belongs to (its first part). */
export const productLineOf = (key: string): string => key.slice(0, key.indexOf(':'));

// one name for the deployment's CRM: the webhook and the console Worker reach the same object whatever else differs
const coordinator = (c: Coordination, productLineId: string) =>
  c.coordinators.get(c.coordinators.idFromName(c.scope === 'product-line' ? `product-line:${productLineId}` : 'crm'));

export type BeginOptions = {
  calls: number;
  timeoutMs: number;
  force?: boolean;
  turnWaitMs: number;
  slotWaitMs: number;
};

/** The delivery's turn in its customer's sequence and a CRM slot, in one request. */
export async function begin(
  c: Coordination,
  productLineId: string,
  place: Place | null,
  options: BeginOptions,
): Promise<Begin> {
  const request: BeginRequest = {
    place,
    calls: options.calls,
    turn: { leaseMs: options.timeoutMs * 2 + TURN_LEASE_MARGIN_MS, force: options.force, waitMs: options.turnWaitMs },
    slotWaitMs: options.slotWaitMs,
    limits: c.limits,
  };
  try {
    return await coordinator(c, productLineId).begin(request);
  } catch (err) {
    console.error('the coordinator (a Durable Object) is unreachable; the delivery waits', err);
    return {
      kind: 'busy',
      retryInMs: UNREACHABLE_RETRY_MS,
      why: 'the coordinator (a Durable Object) could not be reached',
    };
  }
}

/**
 * Ends a turn and gives its slot back with what the CRM did; returns the delivery whose turn comes next. Never throws.
 */
export async function end(c: Coordination, productLineId: string, request: EndRequest): Promise<string | null> {
  try {
    return (await coordinator(c, productLineId).end(request)).next;
  } catch (err) {
    // the turn and the slot lapse with their leases; the next delivery's own retry finds the way free
    console.error('the coordinator is unreachable: the turn lapses with its lease', err);
    return null;
  }
}

/**
 * Takes places in line at receipt (queued, or held deliveries released), in order. A failure is logged: each attempt
 * takes its place then.
 */
export async function join(c: Coordination, productLineId: string, places: Place[]): Promise<void> {
  if (places.length === 0) return;
  try {
    await coordinator(c, productLineId).join(places);
  } catch (err) {
    console.error('the coordinator is unreachable at receipt; each attempt takes its place', err);
  }
}

/** Whether the CRM's calls are paused, and why (console, admin). */
export async function gateStatus(c: Coordination, productLineId: string): Promise<GateStatus> {
  return coordinator(c, productLineId).status(c.limits);
}

/** Ends a pause now: the next call probes the CRM. */
export async function resumeGate(c: Coordination, productLineId: string): Promise<void> {
  await coordinator(c, productLineId).resume();
}

/** What a customer sequence holds (admin, tests). */
export async function sequenceStatus(c: Coordination, key: string) {
  return coordinator(c, productLineOf(key)).sequence(key);
}

/** Requests served and storage rows written by a product line's coordinator since it started (tests, bench). */
export async function coordinatorUsage(c: Coordination, productLineId: string) {
  return coordinator(c, productLineId).usage();
}
