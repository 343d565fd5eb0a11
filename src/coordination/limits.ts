/** The CRM's limits, from the Worker's vars (wrangler.toml), sent with every request to the gate (./gate.ts). */
export type GateLimits = { maxConcurrency: number; maxPerSecond: number; pauseAfterFailures: number };

export const DEFAULT_MAX_CONCURRENCY = 4;
export const DEFAULT_MAX_PER_SECOND = 10;
/** Retryable failures in a row that pause every call (CRM_PAUSE_AFTER_FAILURES). */
export const DEFAULT_PAUSE_AFTER_FAILURES = 3;
