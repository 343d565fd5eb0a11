/**
 * The console Worker (wrangler.console.toml): the pages under /console, kept out of the webhook Worker so that a
 * webhook's cold start never parses console code (its catalogue, views and editor). The webhook Worker forwards
 * /console to it over the CONSOLE service binding, so users keep one URL; it shares the same D1, KV and Queue.
 */
import { Hono } from 'hono/tiny';
import type { AppEnv } from '../env';
import { notFound, onError } from '../http/errors';
import { consolePages } from './index';
import { watchSweep } from '../watch';
import { AUDIT_RETENTION_DAYS, pruneAudit } from '../team/audit';

const app = new Hono<AppEnv>();
app.route('/console', consolePages);
app.notFound(notFound);
app.onError(onError);

/**
 * Its cron (every 5 minutes, wrangler.console.toml) watches the log for the people who read it: silence alerts,
 * problems, the daily digest (src/watch/). It runs here, not in the webhook Worker, whose bundle stays lean.
 */
export default {
  fetch: app.fetch,
  scheduled: async (controller, env, ctx) => {
    const now = controller.scheduledTime;
    const auditDays = Number(env.AUDIT_RETENTION_DAYS) > 0 ? Number(env.AUDIT_RETENTION_DAYS) : AUDIT_RETENTION_DAYS;
    ctx.waitUntil(
      Promise.all([watchSweep(env, now), pruneAudit(env.DB, now - auditDays * 86_400_000)]).then(([watch]) =>
        console.log(JSON.stringify({ event: 'watch', ...watch })),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
