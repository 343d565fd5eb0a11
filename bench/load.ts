/**
 * A closed-loop HTTP load generator: `concurrency` keep-alive connections, each sending the next
 * request as soon as the previous answer is read, for `durationMs`. Every latency is recorded, so
 * p50/p95/p99 are exact (autocannon's histogram has no p95; this is the same model, measured directly).
 */
import { Agent, request } from 'node:http';

/**
 * `variants`: bodies (with their headers) sent in turn instead of `body`, e.g. one per customer: the adapter applies
 * one customer's webhooks one at a time, so a load of one repeated body would measure a single customer's burst.
 */
export type Target = {
  url: string;
  method?: string;
  headers: Record<string, string>;
  body: string;
  expect?: number;
  variants?: Variant[];
};
export type Variant = { body: string; headers: Record<string, string> };

const turns = new WeakMap<Target, number>();
/** The next body and headers to send for a target (its variants in turn, else its one body). */
export function nextRequest(t: Target): Variant {
  if (!t.variants?.length) return { body: t.body, headers: t.headers };
  const i = turns.get(t) ?? 0;
  turns.set(t, i + 1);
  return t.variants[i % t.variants.length]!;
}
export type LoadResult = {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
};

function once(agent: Agent, t: Target): Promise<{ ms: number; ok: boolean }> {
  const url = new URL(t.url);
  const sent = nextRequest(t);
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: t.method ?? 'POST',
        headers: { ...sent.headers, 'content-length': Buffer.byteLength(sent.body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - started, ok: res.statusCode === (t.expect ?? 200) }));
      },
    );
    req.on('error', () => resolve({ ms: performance.now() - started, ok: false }));
    req.end(sent.body);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The mean of the middle 80 % (a tenth dropped at each end): robust to a round that met a checkpoint or a busy
 * machine, and, unlike a median, not rounded to the 10 ms clock tick a short round's figure moves in.
 */
export function trimmedMean(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length / 10);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.reduce((a, b) => a + b, 0) / kept.length;
}

export async function load(
  target: Target,
  concurrency: number,
  durationMs: number,
  warmupMs = 500,
  keepAlive = true,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive, maxSockets: concurrency });
  // warm the connections and the isolate
  const warmEnd = performance.now() + warmupMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < warmEnd) await once(agent, target);
    }),
  );
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = await once(agent, target);
        latencies.push(r.ms);
        if (!r.ok) errors++;
      }
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    requests: latencies.length,
    errors,
    rps: Math.round(latencies.length / (elapsed / 1000)),
    p50: round(percentile(latencies, 50)),
    p95: round(percentile(latencies, 95)),
    p99: round(percentile(latencies, 99)),
    mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
  };
}
