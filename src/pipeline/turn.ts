/**
 * A delivery's turn in its customer's sequence (src/coordination/sequence.ts), as the sync path and the queue attempt
 * take it: where it stands in line (`placeOf`), asking for the turn, ending it (and queueing whoever is next), and
 * looking at a head that holds the line but makes no progress (its Worker stopped, its message was lost).
 */
import { type Coordination, endTurn, sequenceKey, type Ticket, type Turn, type TurnEnd, takeTurn } from '../coordination';
import { statusOf } from '../deliveries/lifecycle';
import { type DeliveryStatus, IN_FLIGHT } from '../deliveries/store';
import type { MapResult } from '../mapping/map';
import { type DeliveryMessage, enqueue } from './core';
import type { Resolved } from './deliver';

/** A delivery's customer sequence and its ticket in it. */
export type Place = { key: string; ticket: Ticket };

export type TurnDeps = {
  db: D1Database;
  queue: Queue<DeliveryMessage>;
  coordination: Coordination;
  crm: { timeoutMs: number };
  now: () => number;
  /** How long to wait for a running delivery of the same customer to finish before answering "wait". */
  turnWaitMs: number;
};

/**
 * The sequence of a delivery: by the customer's id once it is known (the payload's, or found through the keys), else
 * by the first lookup key that has a value (two webhooks of one new phone number wait for each other). Null when
 * nothing names the customer (nothing will be sent).
 */
export function placeOf(
  target: { productLineId: string; moduleId: string },
  delivery: { id: string; endpointId: string; version: string | null; round: number },
  mapped: Extract<MapResult, { ok: true }>,
  resolved: Resolved | null,
): Place | null {
  const lookup = mapped.lookups?.[0];
  const customer = resolved ? { id: resolved.id } : lookup ? { key: lookup.key, value: lookup.value } : null;
  if (!customer) return null;
  return {
    key: sequenceKey(target.productLineId, target.moduleId, customer),
    ticket: { deliveryId: delivery.id, endpointId: delivery.endpointId, version: delivery.version, round: delivery.round },
  };
}

/** How a delivery's status ends its turn: applied, ended without applying, or back in line to be tried again. */
export function turnEndOf(status: DeliveryStatus): TurnEnd {
  if (status === 'delivered' || status === 'unchanged') return 'applied';
  return IN_FLIGHT.includes(status) ? 'retry' : 'ended';
}

/** Asks for the turn; a head that blocks the line without progress is looked at (and cleared or re-driven) once. */
export async function askTurn(deps: TurnDeps, place: Place, options: { force?: boolean; heal?: boolean } = {}): Promise<Turn> {
  const turn = await takeTurn(deps.coordination, place.key, place.ticket, { timeoutMs: deps.crm.timeoutMs, force: options.force, waitMs: deps.turnWaitMs });
  if (turn.kind !== 'wait' || turn.running || !options.heal || turn.head === place.ticket.deliveryId) return turn;
  const cleared = await healHead(deps, place.key, turn.head);
  return cleared ? takeTurn(deps.coordination, place.key, place.ticket, { timeoutMs: deps.crm.timeoutMs, force: options.force }) : turn;
}

/** Ends the turn and queues the delivery whose turn it is next (it may be waiting in backoff for its own retry). */
export async function giveTurn(deps: TurnDeps, place: Place, end: TurnEnd): Promise<void> {
  const next = await endTurn(deps.coordination, place.key, place.ticket, end);
  if (next && next !== place.ticket.deliveryId) await enqueue(deps.queue, next);
}

/**
 * The head of the line is not running: if its row has ended (or is gone), its turn is ended for it (true: ask again);
 * if it is due and unleased (its message lost, its Worker stopped), it is sent to the queue again.
 */
async function healHead(deps: TurnDeps, key: string, head: string): Promise<boolean> {
  const row = await statusOf(deps.db, head).catch(() => undefined);
  if (row === undefined) return false; // D1 unreachable: wait
  const headTicket: Ticket = { deliveryId: head, endpointId: row?.endpoint_id ?? '', version: row?.version ?? null, round: row?.replays ?? 0 };
  // ended, gone, or held by a disabled endpoint (it takes a new place when released)
  if (!row || !IN_FLIGHT.includes(row.status)) {
    await endTurn(deps.coordination, key, headTicket, row ? turnEndOf(row.status) : 'ended');
    return true;
  }
  const now = deps.now();
  const idle = (row.lease_until === null || row.lease_until < now) && (row.next_attempt_at ?? 0) <= now;
  if (idle) await enqueue(deps.queue, head);
  return false;
}

/** How long a delivery that must wait for its turn waits before its own message comes back (the head's end queues it sooner). */
export function waitSeconds(turn: Extract<Turn, { kind: 'wait' }>): number {
  return Math.min(300, Math.max(1, Math.ceil(turn.retryInMs / 1000)));
}
