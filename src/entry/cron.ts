/**
 * The cron trigger (every 5 minutes, wrangler.toml): re-drive deliveries whose queue message was
 * lost, release what enabled endpoints still hold, enforce retention, send alerts that waited out their 10 minutes.
 */
import { enforceRetention } from '../deliveries/retention';
import { getEndpoint } from '../endpoints/store';
import { notifyTarget, sendAlert, takeDueAlerts } from '../notify';
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
  const retention = await enforceRetention(env.DB, now, num(env.RAW_RETENTION_DAYS, 7), num(env.LOG_RETENTION_DAYS, 30));
  const alerts = await takeDueAlerts(env.DB, now);
  for (const alert of alerts) {
    const endpoint = await getEndpoint(env.ENDPOINTS, alert.endpointId).catch(() => null);
    const target = notifyTarget(endpoint?.config.notify, env);
    if (target) await sendAlert((i, init) => fetch(i, init), target, alert);
  }
  const summary = { event: 'cron', redriven, released, ...retention, alerts: alerts.length };
  console.log(JSON.stringify(summary));
  return summary;
}
