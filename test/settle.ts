/**
 * Driving the queue consumer until an endpoint's deliveries have all ended, without waiting on time: every delivery
 * still on its way is handed to the consumer (whole batches at once, in a shuffled order), again and again, bounded.
 * A delivery waiting in backoff or for its customer's turn is attempted as if its time had come.
 */
import { env } from 'cloudflare:workers';
import { drive, type recordingQueue } from './helpers';

/** The seed every shuffled order starts from: a failure replays the same order. */
export const DELIVERY_QUEUE_SEED = 20261201;

/** A reproducible shuffle (mulberry32). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The ids of an endpoint's deliveries still queued or retrying. */
export async function onTheirWay(endpointId: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT id FROM deliveries WHERE endpoint_id = ? AND status IN ('queued', 'retrying') ORDER BY id",
  )
    .bind(endpointId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Attempts every delivery still on its way (as if its next attempt were due) until none is left. */
export async function settle(
  endpointId: string,
  queue: ReturnType<typeof recordingQueue>,
  options: { rounds?: number; overrides?: Partial<Record<keyof Env, unknown>> } = {},
) {
  const rounds = options.rounds ?? 60;
  for (let round = 0; round < rounds; round++) {
    const open = await onTheirWay(endpointId);
    if (open.length === 0) return round;
    const ids = shuffled(open, DELIVERY_QUEUE_SEED + round);
    const batches = Array.from({ length: Math.ceil(ids.length / 10) }, (_, i) => ids.slice(i * 10, i * 10 + 10));
    await Promise.all(
      batches.map((batch) => drive(batch, { overrides: { DELIVERY_QUEUE: queue, ...options.overrides } })),
    );
  }
  throw new Error(
    `deliveries of ${endpointId} still on their way after ${rounds} rounds: ${(await onTheirWay(endpointId)).join(', ')}`,
  );
}
