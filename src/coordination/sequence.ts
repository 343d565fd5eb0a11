/**
 * One customer at a time: a Durable Object per customer sequence (product line + module + customer id, or before the
 * id is known the lookup key's value) that hands out turns. Deliveries of one customer are applied one at a time, in
 * receipt order (delivery ids sort by receipt time; each takes its place when received, or when it first asks); one
 * that retries keeps its place and holds the later ones back; one whose sender's `version` is older than the last
 * applied from its endpoint is superseded instead of sent. The object only decides turns: the Worker makes the CRM call and reports back.
 *
 * Each method runs its SQL without awaiting anything, so it is atomic: two isolates asking at once are answered one
 * after the other. State lives in the object's SQLite storage, so an eviction or a restart forgets nothing.
 */
import { DurableObject } from 'cloudflare:workers';
import { isOlder } from './version';

/** A delivery as the sequence knows it; `round`: how often it was replayed (a replay is a new turn, not "done"). */
export type Ticket = { deliveryId: string; endpointId: string; version: string | null; round: number };

/** Whether this delivery may call the CRM now. */
export type Turn =
  /** Its turn: the CRM may be called; `release` must follow (the turn lapses after the lease otherwise). */
  | { kind: 'granted' }
  /** A delivery received earlier is not finished yet (`head`); `running`: it is calling the CRM right now. */
  | { kind: 'wait'; head: string; running: boolean; retryInMs: number }
  /** Its version is older than the last one applied from its endpoint: not sent. */
  | { kind: 'superseded'; by: string; byVersion: string | null; next: string | null }
  /** Applied already (the Worker stopped before recording it): record it, call nothing. */
  | { kind: 'done' };

export type TurnOptions = { leaseMs: number; force?: boolean; waitMs?: number };
type Waiter = { ticket: Ticket; options: TurnOptions; resolve: (turn: Turn) => void; timer: ReturnType<typeof setTimeout> };
const MAX_WAITERS = 200;

/** How a turn ended: applied (delivered or unchanged), ended without applying, or to be tried again later (keeps its place). */
export type TurnEnd = 'applied' | 'ended' | 'retry';

/** When a waiting delivery looks again by itself (the end of the turn before it queues it sooner). */
const WAIT_FALLBACK_MS = 30_000;
/** How long an applied delivery is remembered (a Worker that stopped after the CRM call finds it done). */
const DONE_KEPT_MS = 86_400_000;

type TicketRow = { delivery_id: string; endpoint_id: string; version: string | null; running_until: number | null; state: string | null; round: number };

export class CustomerSequence extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** What this object cost since it started (README "What it costs"; `npm run bench` and test/do-usage.test.ts read it). */
  private readonly used = { requests: 0, rowsWritten: 0 };
  /** Deliveries waiting here for the running one's turn to end (in memory: a waiter whose object restarts is told "wait"). */
  private readonly waiters: Waiter[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // state: NULL while waiting or running, 'applied' once applied (kept a day, for a Worker that stopped mid-way)
    this.sql.exec(`CREATE TABLE IF NOT EXISTS tickets (delivery_id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL, version TEXT,
      running_until INTEGER, state TEXT, at INTEGER NOT NULL, round INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`);
    // WITHOUT ROWID: a row lives in its key's b-tree, one row written per change instead of two (storage is billed per row)
    this.sql.exec('CREATE TABLE IF NOT EXISTS applied (endpoint_id TEXT PRIMARY KEY, delivery_id TEXT NOT NULL, version TEXT) WITHOUT ROWID');
  }

  /** Takes a place in line (at receipt, for a queued delivery); a second call for the same delivery changes nothing. */
  register(ticket: Ticket): { waiting: number } {
    this.used.requests += 1;
    this.insert(ticket, null, Date.now());
    return { waiting: this.waiting() };
  }

  /**
   * Asks for the turn: granted when no other delivery is calling the CRM and none received earlier waits. `force`:
   * a superseded delivery replayed by hand is sent all the same. `waitMs`: while another delivery of the customer is
   * calling the CRM, wait up to this long for its end (a webhook sent right after the previous one's answer meets
   * that turn still being given back) instead of answering "wait" at once.
   */
  acquire(ticket: Ticket, options: TurnOptions): Turn | Promise<Turn> {
    this.used.requests += 1;
    const turn = this.decide(ticket, options, Date.now());
    if (turn.kind !== 'wait' || !turn.running || !options.waitMs || options.waitMs <= 0 || this.waiters.length >= MAX_WAITERS) return turn;
    return new Promise<Turn>((resolve) => {
      const waiter: Waiter = {
        ticket,
        options,
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(this.decide(ticket, options, Date.now()));
        }, options.waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  private decide(ticket: Ticket, options: TurnOptions, now: number): Turn {
    let own = this.ticket(ticket.deliveryId);
    if (own?.state === 'applied') {
      if (own.round >= ticket.round) return { kind: 'done' };
      // replayed since it was applied: a new turn, in line again
      this.q('DELETE FROM tickets WHERE delivery_id = ?', ticket.deliveryId);
      own = undefined;
    }
    const applied = this.q<{ delivery_id: string; version: string | null }>('SELECT delivery_id, version FROM applied WHERE endpoint_id = ?', ticket.endpointId)[0];
    if (!options.force && applied && applied.delivery_id !== ticket.deliveryId && isOlder(ticket.version, applied.version)) {
      if (own) this.q('DELETE FROM tickets WHERE delivery_id = ?', ticket.deliveryId);
      return { kind: 'superseded', by: applied.delivery_id, byVersion: applied.version, next: this.head() };
    }
    const running = this.q<{ delivery_id: string; running_until: number }>(
      'SELECT delivery_id, running_until FROM tickets WHERE state IS NULL AND running_until > ? ORDER BY delivery_id = ? LIMIT 1',
      now,
      ticket.deliveryId,
    )[0];
    // waiting takes a place in line (a delivery not registered at receipt is placed by its receipt time);
    // the same delivery again (its Worker stopped mid-call; the row's own lease lets one attempt at a time through)
    if (running && running.delivery_id !== ticket.deliveryId) {
      if (!own) this.insert(ticket, null, now);
      return { kind: 'wait', head: running.delivery_id, running: true, retryInMs: running.running_until - now };
    }
    const head = this.head();
    if (head !== null && head < ticket.deliveryId) {
      if (!own) this.insert(ticket, null, now);
      // the head's end queues this one at once; this is the fallback should that message be lost
      return { kind: 'wait', head, running: false, retryInMs: WAIT_FALLBACK_MS };
    }
    if (own) this.q('UPDATE tickets SET running_until = ?, version = ? WHERE delivery_id = ?', now + options.leaseMs, ticket.version, ticket.deliveryId);
    else this.insert(ticket, now + options.leaseMs, now);
    return { kind: 'granted' };
  }

  /** Waiting deliveries, earliest first, take a turn that came free (or learn at once that it will not soon). */
  private wake(): void {
    const now = Date.now();
    for (const waiter of [...this.waiters].sort((a, b) => (a.ticket.deliveryId < b.ticket.deliveryId ? -1 : 1))) {
      const turn = this.decide(waiter.ticket, waiter.options, now);
      if (turn.kind === 'wait' && turn.running) continue;
      clearTimeout(waiter.timer);
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(turn);
    }
  }

  /** Ends a turn; returns the delivery whose turn it is next (to be sent to the queue now), if any. */
  release(ticket: Ticket, end: TurnEnd): { next: string | null } {
    this.used.requests += 1;
    const now = Date.now();
    if (end === 'retry') this.q('UPDATE tickets SET running_until = NULL WHERE delivery_id = ? AND state IS NULL', ticket.deliveryId);
    else if (end === 'ended') this.q('DELETE FROM tickets WHERE delivery_id = ?', ticket.deliveryId);
    else this.markApplied(ticket, now);
    const next = end === 'retry' ? null : this.head();
    this.wake();
    // the next one is on its way already when it was waiting here
    return { next: next !== null && this.isRunning(next, now) ? null : next };
  }

  /** What the sequence holds (admin and tests): waiting deliveries in order, and the last applied per endpoint. */
  status(): { waiting: { deliveryId: string; running: boolean }[]; applied: { endpointId: string; deliveryId: string; version: string | null }[] } {
    const now = Date.now();
    const waiting = this.q<TicketRow>('SELECT * FROM tickets WHERE state IS NULL ORDER BY delivery_id').map((t) => ({
      deliveryId: t.delivery_id,
      running: t.running_until !== null && t.running_until > now,
    }));
    const applied = this.q<{ endpoint_id: string; delivery_id: string; version: string | null }>('SELECT * FROM applied').map((a) => ({
      endpointId: a.endpoint_id,
      deliveryId: a.delivery_id,
      version: a.version,
    }));
    return { waiting, applied };
  }

  private markApplied(ticket: Ticket, now: number): void {
    this.q(
      `INSERT INTO tickets (delivery_id, endpoint_id, version, running_until, state, at, round) VALUES (?, ?, ?, NULL, 'applied', ?, ?)
       ON CONFLICT (delivery_id) DO UPDATE SET running_until = NULL, state = 'applied', at = excluded.at, round = excluded.round`,
      ticket.deliveryId,
      ticket.endpointId,
      ticket.version,
      now,
      ticket.round,
    );
    const last = this.q<{ delivery_id: string; version: string | null }>('SELECT delivery_id, version FROM applied WHERE endpoint_id = ?', ticket.endpointId)[0];
    // the newest version applied stays the mark (a replay by hand of an older one does not move it back)
    if (!last || !isOlder(ticket.version, last.version)) {
      this.q(
        'INSERT INTO applied (endpoint_id, delivery_id, version) VALUES (?, ?, ?) ON CONFLICT (endpoint_id) DO UPDATE SET delivery_id = excluded.delivery_id, version = excluded.version',
        ticket.endpointId,
        ticket.deliveryId,
        ticket.version,
      );
    }
    this.q("DELETE FROM tickets WHERE state = 'applied' AND at < ?", now - DONE_KEPT_MS);
  }

  private insert(ticket: Ticket, runningUntil: number | null, now: number): void {
    this.q(
      'INSERT INTO tickets (delivery_id, endpoint_id, version, running_until, state, at, round) VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (delivery_id) DO NOTHING',
      ticket.deliveryId,
      ticket.endpointId,
      ticket.version,
      runningUntil,
      now,
      ticket.round,
    );
  }

  /** One statement, its rows read out, its rows written counted. */
  private q<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.used.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  /** Requests served and storage rows written since the object started (not counted itself). */
  usage(): { requests: number; rowsWritten: number } {
    return { ...this.used };
  }

  private isRunning(deliveryId: string, now: number): boolean {
    const t = this.ticket(deliveryId);
    return t !== undefined && t.running_until !== null && t.running_until > now;
  }

  private ticket(deliveryId: string): TicketRow | undefined {
    return this.q<TicketRow>('SELECT * FROM tickets WHERE delivery_id = ?', deliveryId)[0];
  }

  /** The earliest delivery still waiting or running. */
  private head(): string | null {
    return this.q<{ delivery_id: string }>('SELECT delivery_id FROM tickets WHERE state IS NULL ORDER BY delivery_id LIMIT 1')[0]?.delivery_id ?? null;
  }

  private waiting(): number {
    return this.q<{ n: number }>('SELECT COUNT(*) AS n FROM tickets WHERE state IS NULL')[0]!.n;
  }
}
