/**
 * A delivery's turn in its customer's sequence, with its CRM slot (src/coordination/coordinator.ts), as the sync path
 * and the queue attempt take it: where it stands in line (`placeOf`), beginning the turn, ending it (and queueing
 * whoever is next), and looking at a head that holds the line but makes no progress (its Worker stopped, its message
 * was lost).
 */
import {
  type Begin,
  begin,
  type Coordination,
  end,
  type GateOutcome,
  type Place,
  productLineOf,
  sequenceKey,
  type TurnEnd,
} from '../coordination';
import { statusOf } from '../deliveries/lifecycle';
import { type DeliveryStatus, IN_FLIGHT } from '../deliveries/store';
import type { MapResult } from '../mapping/map';
import { type DeliveryMessage, enqueue } from './core';
import type { Resolved } from './deliver';
import { sentences } from '../shared/text';

export type { Place };

export type TurnDeps = {
  db: D1Database;
  queue: Queue<DeliveryMessage>;
  coordination: Coordination;
  crm: { timeoutMs: number };
  now: () => number;
  /** How long to wait for a running delivery of the same customer to finish before answering "wait". */
  turnWaitMs: number;
  /** How long to wait for a CRM slot before giving up (a sync webhook then goes to the queue). */
  slotWaitMs: number;
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
    ticket: {
      deliveryId: delivery.id,
      endpointId: delivery.endpointId,
      version: delivery.version,
      round: delivery.round,
    },
  };
}

/** How a delivery's status ends its turn: applied, ended without applying, or back in line to be tried again. */
export function turnEndOf(status: DeliveryStatus): TurnEnd {
  if (status === 'delivered' || status === 'unchanged') return 'applied';
  return IN_FLIGHT.includes(status) ? 'retry' : 'ended';
}

/**
 * Begins the turn with its slot (`calls`: the CRM calls it will make). `heal`: a head that blocks the line without
 * progress is looked at (and cleared or re-driven) once.
 */
export async function beginTurn(
  deps: TurnDeps,
  productLineId: string,
  place: Place | null,
  calls: number,
  options: { force?: boolean; heal?: boolean } = {},
): Promise<Begin> {
  const ask = () =>
    begin(deps.coordination, productLineId, place, {
      calls,
      timeoutMs: deps.crm.timeoutMs,
      force: options.force,
      turnWaitMs: deps.turnWaitMs,
      slotWaitMs: deps.slotWaitMs,
    });
  const turn = await ask();
  if (turn.kind !== 'wait' || turn.running || !options.heal || !place || turn.head === place.ticket.deliveryId)
    return turn;
  return (await healHead(deps, place.key, turn.head)) ? ask() : turn;
}

/**
 * Ends the turn, gives the slot back, and queues the delivery whose turn it is next (it may be waiting in backoff);
 * returns that delivery, which a queue consumer may attempt at once.
 */
export async function endTurn(
  deps: Pick<TurnDeps, 'coordination' | 'queue'>,
  productLineId: string,
  place: Place | null,
  turnEnd: TurnEnd,
  slot: string | null = null,
  outcome: GateOutcome = { kind: 'ok' },
): Promise<string | null> {
  if (!place && slot === null) return null;
  const next = await end(deps.coordination, productLineId, { place, end: turnEnd, slot, outcome });
  if (!next || next === place?.ticket.deliveryId) return null;
  await enqueue(deps.queue, next);
  return next;
}

/** Ends the turn of a delivery known by its stored sequence key (a dead letter, a held row, an old place given up). */
export function endTurnAt(
  deps: Pick<TurnDeps, 'coordination' | 'queue'>,
  place: Place,
  turnEnd: TurnEnd,
): Promise<string | null> {
  return endTurn(deps, productLineOf(place.key), place, turnEnd);
}

/**
 * The head of the line is not running: if its row has ended (or is gone), its turn is ended for it (true: ask again);
 * if it is due and unleased (its message lost, its Worker stopped), it is sent to the queue again.
 */
async function healHead(deps: TurnDeps, key: string, head: string): Promise<boolean> {
  const row = await statusOf(deps.db, head).catch(() => undefined);
  if (row === undefined) return false; // D1 unreachable: wait
  const headPlace: Place = {
    key,
    ticket: {
      deliveryId: head,
      endpointId: row?.endpoint_id ?? '',
      version: row?.version ?? null,
      round: row?.replays ?? 0,
    },
  };
  // ended, gone, or held by a disabled endpoint (it takes a new place when released)
  if (!row || !IN_FLIGHT.includes(row.status)) {
    await endTurnAt(deps, headPlace, row ? turnEndOf(row.status) : 'ended');
    return true;
  }
  const now = deps.now();
  const unleased = row.lease_until === null || row.lease_until < now;
  // due and unleased (its message lost); or waiting for a turn that is its own now (it waited behind one since ended)
  if (unleased && ((row.next_attempt_at ?? 0) <= now || row.reason === 'sequence_wait'))
    await enqueue(deps.queue, head);
  return false;
}

/** How long a delivery that must wait (its turn, a pause) waits before its own message comes back. */
export function waitSeconds(retryInMs: number): number {
  return Math.min(300, Math.max(1, Math.ceil(retryInMs / 1000)));
}

/** Why a delivery that was not granted waits, for its row. */
export function waitReasonOf(turn: Exclude<Begin, { kind: 'granted' | 'superseded' | 'done' }>): {
  reason: 'sequence_wait' | 'crm_paused' | 'crm_busy';
  message: string;
} {
  if (turn.kind === 'wait')
    return {
      reason: 'sequence_wait',
      message: `waiting for delivery ${turn.head} of the same customer to finish first`,
    };
  if (turn.kind === 'paused')
    return {
      reason: 'crm_paused',
      message: `CRM calls are paused: ${turn.why ?? 'the CRM kept failing'}; tried again when they resume`,
    };
  return {
    reason: 'crm_busy',
    message: sentences(
      `the CRM's limits are reached for now (${turn.why ?? 'calls in flight or per second'});`,
      'tried again shortly',
    ),
  };
}
