import * as z from '../shared/zod';
import { preprocess } from '../shared/zod';

/**
 * The retry schedule: seconds to wait before each retry. The default makes 9 attempts (1 + 8 retries)
 * over about 13.7 hours, inside the 24 h a message may wait in a queue on the free plan.
 */
export const DEFAULT_SCHEDULE = [30, 120, 600, 1800, 3600, 7200, 14400, 21600];
/** Queues accept at most 12 hours per delay. */
export const MAX_DELAY_SECONDS = 12 * 3600;
const JITTER = 0.2;

/** `delivery` in an endpoint configuration (a bare "sync" or "queue" is short for `{ "mode": ... }`). */
export const DeliveryConfig = preprocess(
  (v) => (typeof v === 'string' ? { mode: v } : v),
  z.strictObject({
    /** `sync`: call the CRM inline and answer with its result; `queue`: answer 202 at once, deliver from the queue. */
    mode: z._default(z.enum(['sync', 'queue']), 'sync'),
    /** sync only: `retry` hands a retryable failure to the queue and answers 202 `retrying`; `fail` answers 502. */
    onFailure: z._default(z.enum(['fail', 'retry']), 'fail'),
    /** Seconds before each retry; the last value repeats. Jitter of ±20% is added. */
    schedule: z._default(
      z
        .array(z.int().check(z.gte(0)).check(z.lte(MAX_DELAY_SECONDS)))
        .check(z.minLength(1))
        .check(z.maxLength(50)),
      DEFAULT_SCHEDULE,
    ),
    /** CRM calls per run before the delivery is `dead` (default: one more than the schedule's length). */
    maxAttempts: z.optional(z.int().check(z.gte(1)).check(z.lte(100))),
    /** CRM `code`s (answered with HTTP 200) that mean "try again later" rather than "refused". */
    retryableCrmCodes: z._default(z.array(z.int()).check(z.maxLength(50)), []),
  }),
);
export type DeliveryConfig = z.infer<typeof DeliveryConfig>;

export const DEFAULT_DELIVERY: DeliveryConfig = DeliveryConfig.parse({});

export function maxAttempts(config: DeliveryConfig): number {
  return config.maxAttempts ?? config.schedule.length + 1;
}

/**
 * Seconds to wait after the `attempt`-th call failed: the schedule's value with jitter, at least
 * the CRM's Retry-After, at most 12 hours.
 */
export function retryDelaySeconds(
  config: DeliveryConfig,
  attempt: number,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const base = config.schedule[Math.min(attempt - 1, config.schedule.length - 1)]!;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  return Math.min(MAX_DELAY_SECONDS, Math.max(jittered, Math.ceil(retryAfterSeconds ?? 0)));
}
