/**
 * The CRM's limits, across every isolate and location: one Durable Object (named "crm") that every CRM call asks
 * for a slot. It bounds the calls in flight (`CRM_MAX_CONCURRENCY`) and the calls started per second
 * (`CRM_MAX_PER_SECOND`), and pauses every call when the CRM keeps failing: after `CRM_PAUSE_AFTER_FAILURES` retryable
 * failures in a row (5xx, timeouts, 429) calls pause with a growing backoff, then one probing call is let through and
 * its success resumes the rest; a `Retry-After` pauses all calls until then. A caller that cannot have a slot within
 * its `maxWaitMs` is told when to try again (a sync webhook goes to the queue, a queued one waits in the queue).
 *
 * The limits come from the Worker's vars with each request (one source of truth, and a test can set its own).
 * Slots and the token bucket live in memory (an evicted object has no call in flight to forget: it is evicted only
 * when idle); the pause is stored, so a restart keeps it.
 */
import { DurableObject } from 'cloudflare:workers';
import { DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_PER_SECOND, DEFAULT_PAUSE_AFTER_FAILURES, type GateLimits } from './limits';

export type { GateLimits };

export type GateOutcome = { kind: 'ok' } | { kind: 'retryable'; retryAfterSeconds?: number };

export type Slot = { granted: true; slot: string; probe: boolean } | { granted: false; state: 'paused' | 'busy'; retryInMs: number; why: string | null };

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

const FIRST_PAUSE_MS = 5_000;
const LONGEST_PAUSE_MS = 300_000;
/** A slot not given back (its Worker stopped) is taken back after this long. */
const SLOT_LEASE_MS = 60_000;

type Pause = { until: number; pauses: number; why: string; failures: number };
type Waiter = { calls: number; resolve: (slot: Slot) => void; timer: ReturnType<typeof setTimeout> };

export class CrmGate extends DurableObject<Env> {
  private readonly slots = new Map<string, number>();
  private readonly waiters: Waiter[] = [];
  private tokens = -1;
  private refilledAt = Date.now();
  private failures = 0;
  private pause: Pause | null = null;
  private probe: string | null = null;
  private pumpTimer: ReturnType<typeof setTimeout> | null = null;
  /** What this object cost since it started (README "What it costs"). */
  private readonly used = { requests: 0, storageWrites: 0 };
  private maxConcurrency = DEFAULT_MAX_CONCURRENCY;
  private maxPerSecond = DEFAULT_MAX_PER_SECOND;
  private pauseAfterFailures = DEFAULT_PAUSE_AFTER_FAILURES;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.pause = (await ctx.storage.get<Pause>('pause')) ?? null;
      this.failures = this.pause?.failures ?? 0;
    });
  }

  /** A slot for one delivery's CRM calls (`calls`: how many it makes, a read and an update count two). */
  acquire(calls: number, maxWaitMs: number, limits: GateLimits): Slot | Promise<Slot> {
    this.used.requests += 1;
    const now = Date.now();
    this.setLimits(limits);
    const slot = this.tryTake(calls, now);
    if (slot.granted || slot.state === 'paused' || maxWaitMs <= 0 || this.waiters.length >= 1000) return slot;
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

  /** Gives a slot back with what the CRM did; a retryable failure counts towards the pause. */
  async release(slot: string, outcome: GateOutcome): Promise<void> {
    this.used.requests += 1;
    // a slot taken back after its lease still reports: the CRM's answer counts all the same
    const held = this.slots.delete(slot);
    const now = Date.now();
    if (!held && outcome.kind === 'ok') return;
    const wasProbe = this.probe === slot;
    if (wasProbe) this.probe = null;
    if (outcome.kind === 'ok') {
      this.failures = 0;
      if (this.pause) {
        this.pause = null;
        this.used.storageWrites += 1;
        await this.ctx.storage.delete('pause');
      }
    } else {
      this.failures += 1;
      const retryAfterMs = outcome.retryAfterSeconds !== undefined ? outcome.retryAfterSeconds * 1000 : 0;
      if (retryAfterMs > 0 || wasProbe || this.failures >= this.pauseAfterFailures) await this.pauseFor(now, retryAfterMs, outcome);
    }
    this.pump();
  }

  status(limits?: GateLimits): GateStatus {
    if (limits) this.setLimits(limits);
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

  /** Requests served and storage writes since the object started (not counted itself). */
  usage(): { requests: number; storageWrites: number } {
    return { ...this.used };
  }

  /** Ends a pause now (the console's "resume", and tests): the next call is the probe. */
  async resume(): Promise<void> {
    if (this.pause) {
      this.pause = { ...this.pause, until: Date.now() };
      await this.ctx.storage.put('pause', this.pause);
    }
    this.pump();
  }

  private async pauseFor(now: number, retryAfterMs: number, outcome: GateOutcome): Promise<void> {
    const pauses = (this.pause?.pauses ?? 0) + 1;
    const backoff = Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (pauses - 1));
    const why =
      outcome.kind === 'retryable' && outcome.retryAfterSeconds !== undefined
        ? `the CRM asked to wait ${outcome.retryAfterSeconds} s (Retry-After)`
        : `${this.failures} CRM calls in a row failed (5xx, timeout or 429)`;
    this.pause = { until: now + Math.max(backoff, Math.min(retryAfterMs, 3_600_000)), pauses, why, failures: this.failures };
    this.used.storageWrites += 1;
    await this.ctx.storage.put('pause', this.pause);
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
    if (this.slots.size >= this.maxConcurrency || this.tokens < needed || (this.waiters.length > 0 && !probe && !queued)) {
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
      const taken = this.waiters.splice(0, 1);
      const slot = this.tryTake(first.calls, now, true);
      if (!slot.granted && slot.state === 'busy') {
        this.waiters.unshift(...taken);
        break;
      }
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

  private setLimits(limits: GateLimits): void {
    this.maxConcurrency = Math.max(1, Math.floor(limits.maxConcurrency));
    this.maxPerSecond = Math.max(0.1, limits.maxPerSecond);
    this.pauseAfterFailures = Math.max(1, Math.floor(limits.pauseAfterFailures));
    if (this.tokens < 0) this.tokens = this.maxPerSecond;
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
