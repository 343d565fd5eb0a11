/**
 * The CRM's limits, held by the coordinator (./coordinator.ts), which every CRM call of the adapter asks for a slot:
 * calls in flight (`CRM_MAX_CONCURRENCY`) and started per second (`CRM_MAX_PER_SECOND`), and a pause of every call
 * when the CRM keeps failing: after `CRM_PAUSE_AFTER_FAILURES` retryable failures in a row (5xx, timeouts, 429) calls
 * pause with a growing backoff, then one probing call goes through and its success resumes the rest; a `Retry-After`
 * pauses every call until then. The limits come from the Worker's vars with each request (one source of truth).
 *
 * Slots and the per-second budget live in memory (an object is evicted only when idle: no call in flight to forget);
 * the pause is returned to the coordinator to store, so a restart keeps it.
 */

/** The CRM's limits, from the Worker's vars (wrangler.toml), sent with every request. */
export type GateLimits = { maxConcurrency: number; maxPerSecond: number; pauseAfterFailures: number };

export const DEFAULT_MAX_CONCURRENCY = 4;
export const DEFAULT_MAX_PER_SECOND = 10;
/** Retryable failures in a row that pause every call (CRM_PAUSE_AFTER_FAILURES). */
export const DEFAULT_PAUSE_AFTER_FAILURES = 3;

export type GateOutcome = { kind: 'ok' } | { kind: 'retryable'; retryAfterSeconds?: number };

export type Slot =
  | { granted: true; slot: string; probe: boolean }
  | { granted: false; state: 'paused' | 'busy'; retryInMs: number; why: string | null };

export type GateStatus = {
  maxConcurrency: number;
  maxPerSecond: number;
  inFlight: number;
  waiting: number;
  paused: boolean;
  /** A pause ended, and no call has succeeded since: the next call is a probe. */
  probing: boolean;
  pausedUntil: string | null;
  why: string | null;
  consecutiveFailures: number;
};

/** A pause as stored (null: none). */
export type Pause = { until: number; pauses: number; why: string; failures: number };

const FIRST_PAUSE_MS = 5_000;
const LONGEST_PAUSE_MS = 300_000;
/** A slot not given back (its Worker stopped) is taken back after this long. */
const SLOT_LEASE_MS = 60_000;
const MAX_WAITERS = 1000;

type Waiter = { calls: number; resolve: (slot: Slot) => void; timer: ReturnType<typeof setTimeout> };

export class Limits {
  private readonly slots = new Map<string, number>();
  private readonly waiters: Waiter[] = [];
  private tokens = -1;
  private refilledAt = Date.now();
  private failures = 0;
  private pause: Pause | null = null;
  private probe: string | null = null;
  private pumpTimer: ReturnType<typeof setTimeout> | null = null;
  private maxConcurrency = DEFAULT_MAX_CONCURRENCY;
  private maxPerSecond = DEFAULT_MAX_PER_SECOND;
  private pauseAfterFailures = DEFAULT_PAUSE_AFTER_FAILURES;
  /** Pauses stored or cleared since the object started. */
  storageWrites = 0;

  restore(pause: Pause | undefined): void {
    this.pause = pause ?? null;
    this.failures = pause?.failures ?? 0;
  }

  configure(limits: GateLimits): void {
    this.maxConcurrency = Math.max(1, Math.floor(limits.maxConcurrency));
    this.maxPerSecond = Math.max(0.1, limits.maxPerSecond);
    this.pauseAfterFailures = Math.max(1, Math.floor(limits.pauseAfterFailures));
    if (this.tokens < 0) this.tokens = this.maxPerSecond;
  }

  /** A slot for one delivery's calls (`calls`: a read and an update count two), waiting up to `maxWaitMs` when busy. */
  acquire(calls: number, maxWaitMs: number): Slot | Promise<Slot> {
    const slot = this.tryTake(calls, Date.now());
    if (slot.granted || slot.state === 'paused' || maxWaitMs <= 0 || this.waiters.length >= MAX_WAITERS) return slot;
    return new Promise<Slot>((resolve) => {
      const waiter: Waiter = {
        calls,
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve({ granted: false, state: 'busy', retryInMs: 1_000, why: null });
        }, maxWaitMs),
      };
      this.waiters.push(waiter);
      this.schedulePump();
    });
  }

  /**
   * Gives a slot back with what the CRM did; a retryable failure counts towards the pause (a slot taken back after its
   * lease still reports). Returns the pause to store when it changed (null: cleared), else undefined.
   */
  release(slot: string, outcome: GateOutcome): Pause | null | undefined {
    const held = this.slots.delete(slot);
    const wasProbe = this.probe === slot;
    if (wasProbe) this.probe = null;
    let changed: Pause | null | undefined;
    if (outcome.kind === 'ok') {
      if (held || wasProbe) this.failures = 0;
      if (this.pause && (held || wasProbe)) {
        this.pause = null;
        changed = null;
      }
    } else {
      this.failures += 1;
      const retryAfterMs = outcome.retryAfterSeconds !== undefined ? outcome.retryAfterSeconds * 1000 : 0;
      if (retryAfterMs > 0 || wasProbe || this.failures >= this.pauseAfterFailures)
        changed = this.pauseFor(Date.now(), retryAfterMs, outcome);
    }
    if (changed !== undefined) this.storageWrites += 1;
    this.pump();
    return changed;
  }

  status(): GateStatus {
    const now = Date.now();
    this.expireSlots(now);
    // once a pause is over, calls are not paused any more: the next one probes, and its failure pauses again
    const paused = this.pause !== null && (this.pause.until > now || this.probe !== null);
    return {
      maxConcurrency: this.maxConcurrency,
      maxPerSecond: this.maxPerSecond,
      inFlight: this.slots.size,
      waiting: this.waiters.length,
      paused,
      probing: this.pause !== null && !paused,
      pausedUntil: this.pause ? new Date(this.pause.until).toISOString() : null,
      why: this.pause?.why ?? null,
      consecutiveFailures: this.failures,
    };
  }

  /** Ends a pause now (the console's "Resume now"): the next call is the probe. Returns the pause to store. */
  resume(): Pause | null {
    if (!this.pause) return null;
    this.pause = { ...this.pause, until: Date.now() };
    this.storageWrites += 1;
    this.pump();
    return this.pause;
  }

  private pauseFor(now: number, retryAfterMs: number, outcome: GateOutcome): Pause {
    const pauses = (this.pause?.pauses ?? 0) + 1;
    const backoff = Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (pauses - 1));
    const why =
      outcome.kind === 'retryable' && outcome.retryAfterSeconds !== undefined
        ? `the CRM asked to wait ${outcome.retryAfterSeconds} s (Retry-After)`
        : `${this.failures} CRM calls in a row failed (5xx, timeout or 429)`;
    this.pause = {
      until: now + Math.max(backoff, Math.min(retryAfterMs, 3_600_000)),
      pauses,
      why,
      failures: this.failures,
    };
    return this.pause;
  }

  private tryTake(calls: number, now: number, queued = false): Slot {
    this.expireSlots(now);
    const pause = this.pause;
    let probe = false;
    if (pause) {
      if (pause.until > now) return { granted: false, state: 'paused', retryInMs: pause.until - now, why: pause.why };
      // the pause is over: one probing call at a time, until one succeeds
      if (this.probe !== null) return { granted: false, state: 'paused', retryInMs: 2_000, why: pause.why };
      probe = true;
    }
    this.refill(now);
    const needed = Math.min(calls, this.maxPerSecond);
    if (
      this.slots.size >= this.maxConcurrency ||
      this.tokens < needed ||
      (this.waiters.length > 0 && !probe && !queued)
    ) {
      const retryInMs = this.tokens < needed ? Math.ceil(((needed - this.tokens) / this.maxPerSecond) * 1000) : 500;
      return { granted: false, state: 'busy', retryInMs, why: null };
    }
    this.tokens -= needed;
    const slot = crypto.randomUUID();
    this.slots.set(slot, now + SLOT_LEASE_MS);
    if (probe) this.probe = slot;
    return { granted: true, slot, probe };
  }

  /** Hands free slots to waiters, first come first served. */
  private pump(): void {
    const now = Date.now();
    while (this.waiters.length > 0) {
      const first = this.waiters[0]!;
      const slot = this.tryTake(first.calls, now, true);
      if (!slot.granted && slot.state === 'busy') break;
      this.waiters.shift();
      clearTimeout(first.timer);
      first.resolve(slot);
    }
    if (this.waiters.length > 0) this.schedulePump();
  }

  /** Waiters held back by the per-second budget are looked at again when a token is due. */
  private schedulePump(): void {
    if (this.pumpTimer !== null) return;
    const wait = Math.max(10, Math.ceil(1000 / this.maxPerSecond));
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = null;
      this.pump();
    }, wait);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.maxPerSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.maxPerSecond);
    this.refilledAt = now;
  }

  private expireSlots(now: number): void {
    for (const [slot, until] of this.slots) {
      if (until <= now) {
        this.slots.delete(slot);
        if (this.probe === slot) this.probe = null;
      }
    }
  }
}
