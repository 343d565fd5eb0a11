/**
 * One customer at a time, and the CRM's limits, in one SQLite-backed Durable Object per CRM (or per product line with
 * CRM_LIMIT_SCOPE=product-line): every CRM call of the adapter passes it, so it is the one place that can bound calls
 * across every isolate and location, and the same place can hand out each customer's turns. A delivery asks once
 * (`begin`: its customer's turn and a CRM slot in one request) and reports once (`end`), so the guarantees cost two
 * Durable Object requests per sync webhook and one round trip before the CRM call (README "Ordering").
 *
 * Turns (./sequences.ts): a customer's deliveries are applied one at a time in receipt order; one that retries keeps
 * its place; one whose sender's version is older than the last applied from its endpoint is superseded.
 * Slots (./limits.ts): calls in flight and per second bounded, every call paused after repeated outages.
 *
 * Each step runs its SQL without awaiting anything, so it is atomic; waiting (for a running turn to end, for a slot)
 * is a promise the next `end` resolves, while other requests are served.
 */
import { DurableObject } from 'cloudflare:workers';
import { type GateLimits, type GateOutcome, type GateStatus, Limits, type Slot } from './limits';
import { Sequences, type Ticket, type Turn, type TurnEnd, type TurnOptions } from './sequences';

/** A delivery's place: its customer sequence and its ticket in it (none when nothing names the customer). */
export type Place = { key: string; ticket: Ticket };

export type BeginRequest = {
  place: Place | null;
  /** CRM calls this delivery will make (2: a read and an update; 0: nothing to send, a turn only). */
  calls: number;
  turn: TurnOptions;
  /** How long to wait for a slot when the limits are reached. */
  slotWaitMs: number;
  limits: GateLimits;
};

/** Whether a delivery may call the CRM now: its turn and a slot, or why not. */
export type Begin =
  | { kind: 'granted'; slot: string | null; probe: boolean }
  | Exclude<Turn, { kind: 'granted' }>
  | { kind: 'paused' | 'busy'; retryInMs: number; why: string | null };

export type EndRequest = { place: Place | null; end: TurnEnd; slot: string | null; outcome: GateOutcome };

type Usage = { requests: number; rowsWritten: number };

/** Applied tickets and last versions are pruned this often (an alarm; a customer never seen again leaves nothing). */
const PRUNE_EVERY_MS = 3_600_000;

export class CrmCoordinator extends DurableObject<Env> {
  private readonly used: Usage = { requests: 0, rowsWritten: 0 };
  private readonly sequences: Sequences;
  private readonly limits = new Limits();
  private pruneScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sequences = new Sequences(ctx.storage.sql, (rows) => {
      this.used.rowsWritten += rows;
    });
    ctx.blockConcurrencyWhile(async () => {
      this.limits.restore(await ctx.storage.get('pause'));
    });
  }

  /** Takes a place in line at receipt (queued, or held deliveries released), in the order given. */
  join(places: Place[]): void {
    this.used.requests += 1;
    for (const place of places) this.sequences.register(place.key, place.ticket);
    this.schedulePrune();
  }

  /** The customer's turn, then a CRM slot: granted both, or told why not (a turn not kept waiting for a slot). */
  async begin(request: BeginRequest): Promise<Begin> {
    this.used.requests += 1;
    this.limits.configure(request.limits);
    const { place } = request;
    if (place) {
      const turn = await this.sequences.acquire(place.key, place.ticket, request.turn);
      if (turn.kind !== 'granted') return turn;
      this.schedulePrune();
    }
    if (request.calls <= 0) return { kind: 'granted', slot: null, probe: false };
    const slot: Slot = await this.limits.acquire(request.calls, request.slotWaitMs);
    if (slot.granted) return { kind: 'granted', slot: slot.slot, probe: slot.probe };
    // no slot: the turn goes back (the delivery keeps its place in line, and waits in the queue)
    if (place) this.sequences.release(place.key, place.ticket, 'retry');
    return { kind: slot.state, retryInMs: slot.retryInMs, why: slot.why };
  }

  /** Gives the slot back with what the CRM did, and ends the turn; returns the delivery whose turn comes next. */
  async end(request: EndRequest): Promise<{ next: string | null }> {
    this.used.requests += 1;
    if (request.slot !== null) {
      const pause = this.limits.release(request.slot, request.outcome);
      if (pause !== undefined)
        await (pause === null ? this.ctx.storage.delete('pause') : this.ctx.storage.put('pause', pause));
    }
    if (!request.place) return { next: null };
    return this.sequences.release(request.place.key, request.place.ticket, request.end);
  }

  /** Whether calls are paused, and why (admin, console). */
  status(limits: GateLimits): GateStatus {
    this.limits.configure(limits);
    return this.limits.status();
  }

  /** Ends a pause now: the next call probes the CRM. */
  async resume(): Promise<void> {
    const pause = this.limits.resume();
    if (pause) await this.ctx.storage.put('pause', pause);
  }

  /** What one customer's sequence holds (admin, tests). */
  sequence(key: string) {
    return this.sequences.status(key);
  }

  /** Requests served and storage rows written since the object started (README "What it costs"; not counted itself). */
  usage(): Usage & { storageWrites: number } {
    return { ...this.used, storageWrites: this.limits.storageWrites };
  }

  override async alarm(): Promise<void> {
    this.sequences.prune(Date.now());
    this.pruneScheduled = false;
  }

  /** Once per object's life (or after each prune), an alarm an hour later. */
  private schedulePrune(): void {
    if (this.pruneScheduled) return;
    this.pruneScheduled = true;
    this.ctx.storage
      .getAlarm()
      .then((at) => (at === null ? this.ctx.storage.setAlarm(Date.now() + PRUNE_EVERY_MS) : undefined))
      .catch((err) => {
        this.pruneScheduled = false;
        console.error('coordinator: the prune alarm could not be set', err);
      });
  }
}
