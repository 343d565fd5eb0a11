/**
 * The cron trigger (every 5 minutes, wrangler.toml): re-drive deliveries whose queue message was
 * lost, release what enabled endpoints still hold, enforce retention. The watch (silence, problems, the digest) is the
 * console Worker's cron (src/console/worker.ts).
 */
import { enforceRetention } from '../deliveries/retention';
import { redrive } from '../pipeline/redrive';
import { releaseHeldOfEnabled } from '../pipeline/replay';
import { coordinationOf } from '../coordination';

const num = (v: string | undefined, fallback: number) => {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
};

export async function runCron(env: Env, now: number) {
  const redriven = await redrive(env.DB, env.DELIVERY_QUEUE, now, num(env.REDRIVE_AFTER_MINUTES, 15) * 60_000);
  // held by an isolate whose cache still said "disabled" after the endpoint was enabled
  const released = await releaseHeldOfEnabled(env.DB, env.ENDPOINTS, env.DELIVERY_QUEUE, coordinationOf(env), now);
  const retention = await enforceRetention(
    env.DB,
    now,
    num(env.RAW_RETENTION_DAYS, 7),
    num(env.LOG_RETENTION_DAYS, 30),
  );
  const summary = { event: 'cron', redriven, released, ...retention };
  console.log(JSON.stringify(summary));
  return summary;
}
