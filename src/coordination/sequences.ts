/**
 * Customer sequences, in the coordinator's SQLite (./coordinator.ts): one line per customer (product line + module +
 * customer id, or before the id is known a lookup key's value). A delivery takes its place when it is received (or
 * when it first asks); the turn goes to the earliest in line when no other of the customer's is calling the CRM; one
 * that retries keeps its place and holds the later ones back; one whose sender's `version` is older than the last
 * applied from its endpoint is superseded instead of sent. Every method but `acquire`'s wait is synchronous SQL.
 */
import { isOlder } from './version';

/** A delivery as its sequence knows it; `round`: how often it was replayed (a replay is a new turn, not "done"). */
export type Ticket = { deliveryId: string; endpointId: string; version: string | null; round: number };

/** Whether this delivery may call the CRM now. */
export type Turn =
  /** Its turn: the CRM may be called; the turn must be ended (it lapses after the lease otherwise). */
  | { kind: 'granted' }
  /** A delivery received earlier is not finished yet (`head`); `running`: it is calling the CRM right now. */
  | { kind: 'wait'; head: string; running: boolean; retryInMs: number }
  /** Its version is older than the last one applied from its endpoint: not sent. */
  | { kind: 'superseded'; by: string; byVersion: string | null; next: string | null }
  /** Applied already (the Worker stopped before recording it): record it, call nothing. */
  | { kind: 'done' };

/**
 * How a turn ended: applied (delivered or unchanged), ended without applying, or to be tried again later (keeps its
 * place).
 */
export type TurnEnd = 'applied' | 'ended' | 'retry';

/**
 * `leaseMs`: how long the turn is held if its Worker stops; `force`: a superseded delivery replayed by hand is sent
 * all the same; `waitMs`: while another delivery of the customer calls the CRM, wait up to this long for its end.
 */
export type TurnOptions = { leaseMs: number; force?: boolean; waitMs?: number };

/** When a waiting delivery looks again by itself (the end of the turn before it queues it sooner). */
const WAIT_FALLBACK_MS = 30_000;
/** How long an applied delivery is remembered (a Worker that stopped after the CRM call finds it done). */
const DONE_KEPT_MS = 86_400_000;
/** How long a customer's last applied version per endpoint is kept (senders retry for hours, not weeks). */
const VERSION_KEPT_MS = 30 * 86_400_000;
const MAX_WAITERS = 500;

type TicketRow = {
  delivery_id: string;
  endpoint_id: string;
  version: string | null;
  running_until: number | null;
  state: string | null;
  round: number;
};
type Waiter = {
  key: string;
  ticket: Ticket;
  options: TurnOptions;
  resolve: (turn: Turn) => void;
  timer: ReturnType<typeof setTimeout>;
};

export class Sequences {
  /** Deliveries waiting for a running turn of their customer to end (in memory: a restart tells them "wait"). */
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly sql: SqlStorage,
    private readonly wrote: (rows: number) => void,
  ) {
    // WITHOUT ROWID: a row lives in its key's b-tree, one row written per change instead of two (storage is billed per
    // row)
    sql.exec(`CREATE TABLE IF NOT EXISTS tickets (
      seq TEXT NOT NULL, delivery_id TEXT NOT NULL, endpoint_id TEXT NOT NULL, version TEXT,
      running_until INTEGER, state TEXT, at INTEGER NOT NULL, round INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (seq, delivery_id)) WITHOUT ROWID`);
    sql.exec(`CREATE TABLE IF NOT EXISTS applied (
      seq TEXT NOT NULL, endpoint_id TEXT NOT NULL, delivery_id TEXT NOT NULL, version TEXT,
      at INTEGER NOT NULL, PRIMARY KEY (seq, endpoint_id)) WITHOUT ROWID`);
  }

  /** Takes a place in line; a second call for the same delivery changes nothing. */
  register(key: string, ticket: Ticket): void {
    this.insert(key, ticket, null, Date.now());
  }

  /** Asks for the turn (see TurnOptions); a delivery that waits takes its place in line. */
  acquire(key: string, ticket: Ticket, options: TurnOptions): Turn | Promise<Turn> {
    const turn = this.decide(key, ticket, options, Date.now());
    if (
      turn.kind !== 'wait' ||
      !turn.running ||
      !options.waitMs ||
      options.waitMs <= 0 ||
      this.waiters.length >= MAX_WAITERS
    )
      return turn;
    return new Promise<Turn>((resolve) => {
      const waiter: Waiter = {
        key,
        ticket,
        options,
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(this.decide(key, ticket, options, Date.now()));
        }, options.waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Ends a turn; returns the delivery whose turn it is next (to be sent to the queue now), unless it is already on its
   * way.
   */
  release(key: string, ticket: Ticket, end: TurnEnd): { next: string | null } {
    const now = Date.now();
    if (end === 'retry')
      this.q(
        'UPDATE tickets SET running_until = NULL WHERE seq = ? AND delivery_id = ? AND state IS NULL',
        key,
        ticket.deliveryId,
      );
    else if (end === 'ended') this.q('DELETE FROM tickets WHERE seq = ? AND delivery_id = ?', key, ticket.deliveryId);
    else this.markApplied(key, ticket, now);
    const next = end === 'retry' ? null : this.head(key);
    this.wake(key);
    return { next: next !== null && this.isRunning(key, next, now) ? null : next };
  }

  /** What a sequence holds: waiting deliveries in order, and the last applied per endpoint. */
  status(key: string) {
    const now = Date.now();
    const waiting = this.q<TicketRow>(
      'SELECT * FROM tickets WHERE seq = ? AND state IS NULL ORDER BY delivery_id',
      key,
    ).map((t) => ({
      deliveryId: t.delivery_id,
      running: t.running_until !== null && t.running_until > now,
    }));
    const applied = this.q<{ endpoint_id: string; delivery_id: string; version: string | null }>(
      'SELECT * FROM applied WHERE seq = ?',
      key,
    ).map((a) => ({
      endpointId: a.endpoint_id,
      deliveryId: a.delivery_id,
      version: a.version,
    }));
    return { waiting, applied };
  }

  /** Forgets applied deliveries after a day and last versions after 30 days (the alarm's work). */
  prune(now: number): void {
    this.q("DELETE FROM tickets WHERE state = 'applied' AND at < ?", now - DONE_KEPT_MS);
    this.q('DELETE FROM applied WHERE at < ?', now - VERSION_KEPT_MS);
  }

  private decide(key: string, ticket: Ticket, options: TurnOptions, now: number): Turn {
    let own = this.ticket(key, ticket.deliveryId);
    if (own?.state === 'applied') {
      if (own.round >= ticket.round) return { kind: 'done' };
      // replayed since it was applied: a new turn, in line again
      this.q('DELETE FROM tickets WHERE seq = ? AND delivery_id = ?', key, ticket.deliveryId);
      own = undefined;
    }
    const applied = this.q<{ delivery_id: string; version: string | null }>(
      'SELECT delivery_id, version FROM applied WHERE seq = ? AND endpoint_id = ?',
      key,
      ticket.endpointId,
    )[0];
    if (
      !options.force &&
      applied &&
      applied.delivery_id !== ticket.deliveryId &&
      isOlder(ticket.version, applied.version)
    ) {
      if (own) this.q('DELETE FROM tickets WHERE seq = ? AND delivery_id = ?', key, ticket.deliveryId);
      return { kind: 'superseded', by: applied.delivery_id, byVersion: applied.version, next: this.head(key) };
    }
    const running = this.q<{ delivery_id: string; running_until: number }>(
      `SELECT delivery_id, running_until FROM tickets
       WHERE seq = ? AND state IS NULL AND running_until > ? AND delivery_id != ? LIMIT 1`,
      key,
      now,
      ticket.deliveryId,
    )[0];
    // waiting takes a place in line (a delivery not registered at receipt is placed by its receipt time); the same
    // delivery asking again while its turn runs (its Worker stopped mid-call) gets it: the row's lease lets one attempt
    // through
    if (running) {
      if (!own) this.insert(key, ticket, null, now);
      return { kind: 'wait', head: running.delivery_id, running: true, retryInMs: running.running_until - now };
    }
    const head = this.head(key);
    if (head !== null && head < ticket.deliveryId) {
      if (!own) this.insert(key, ticket, null, now);
      // the head's end queues this one at once; this is the fallback should that message be lost
      return { kind: 'wait', head, running: false, retryInMs: WAIT_FALLBACK_MS };
    }
    if (own)
      this.q(
        'UPDATE tickets SET running_until = ?, version = ? WHERE seq = ? AND delivery_id = ?',
        now + options.leaseMs,
        ticket.version,
        key,
        ticket.deliveryId,
      );
    else this.insert(key, ticket, now + options.leaseMs, now);
    return { kind: 'granted' };
  }

  /**
   * Deliveries of this customer waiting here, earliest first, take a turn that came free (or learn at once it will not
   * soon).
   */
  private wake(key: string): void {
    const now = Date.now();
    const mine = this.waiters
      .filter((w) => w.key === key)
      .sort((a, b) => (a.ticket.deliveryId < b.ticket.deliveryId ? -1 : 1));
    for (const waiter of mine) {
      const turn = this.decide(key, waiter.ticket, waiter.options, now);
      if (turn.kind === 'wait' && turn.running) continue;
      clearTimeout(waiter.timer);
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(turn);
    }
  }

  private markApplied(key: string, ticket: Ticket, now: number): void {
    this.q(
      `INSERT INTO tickets (seq, delivery_id, endpoint_id, version, running_until, state, at, round)
       VALUES (?, ?, ?, ?, NULL, 'applied', ?, ?)
       ON CONFLICT (seq, delivery_id) DO UPDATE
       SET running_until = NULL, state = 'applied', at = excluded.at, round = excluded.round`,
      key,
      ticket.deliveryId,
      ticket.endpointId,
      ticket.version,
      now,
      ticket.round,
    );
    const last = this.q<{ version: string | null }>(
      'SELECT version FROM applied WHERE seq = ? AND endpoint_id = ?',
      key,
      ticket.endpointId,
    )[0];
    // the newest version applied stays the mark (a replay by hand of an older one does not move it back)
    if (!last || !isOlder(ticket.version, last.version)) {
      this.q(
        `INSERT INTO applied (seq, endpoint_id, delivery_id, version, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (seq, endpoint_id) DO UPDATE
         SET delivery_id = excluded.delivery_id, version = excluded.version, at = excluded.at`,
        key,
        ticket.endpointId,
        ticket.deliveryId,
        ticket.version,
        now,
      );
    }
  }

  private insert(key: string, ticket: Ticket, runningUntil: number | null, now: number): void {
    this.q(
      `INSERT INTO tickets (seq, delivery_id, endpoint_id, version, running_until, state, at, round)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (seq, delivery_id) DO NOTHING`,
      key,
      ticket.deliveryId,
      ticket.endpointId,
      ticket.version,
      runningUntil,
      now,
      ticket.round,
    );
  }

  private ticket(key: string, deliveryId: string): TicketRow | undefined {
    return this.q<TicketRow>('SELECT * FROM tickets WHERE seq = ? AND delivery_id = ?', key, deliveryId)[0];
  }

  private isRunning(key: string, deliveryId: string, now: number): boolean {
    const t = this.ticket(key, deliveryId);
    return t !== undefined && t.running_until !== null && t.running_until > now;
  }

  /** The earliest delivery still waiting or running. */
  private head(key: string): string | null {
    return (
      this.q<{ delivery_id: string }>(
        'SELECT delivery_id FROM tickets WHERE seq = ? AND state IS NULL ORDER BY delivery_id LIMIT 1',
        key,
      )[0]?.delivery_id ?? null
    );
  }

  /** One statement, its rows read out, its rows written counted. */
  private q<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.wrote(cursor.rowsWritten);
    return rows;
  }
}
