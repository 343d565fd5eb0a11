import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import { admin } from './admin';
import type { AppEnv } from './env';
import { ApiError, notFound, onError } from './http/errors';
import { hooks } from './entry/webhook';
import { runCron } from './entry/cron';
import type { DeliveryMessage } from './pipeline/core';
import { handleQueue } from './entry/queue';
import { withSecretFacts } from './secrets/handoff';

export { CrmCoordinator } from './coordination/coordinator';

/** Wires the routes; every step of the pipeline lives in its own folder (see README). */
const app = new Hono<AppEnv>();

app.get('/', (c) =>
  c.json({
    name: 'crm-webhook-adapter',
    webhooks: 'POST /hooks/{endpoint}',
    admin: '/admin (Authorization: Bearer <ADMIN_TOKEN>)',
    console: '/console',
  }),
);
app.route('/hooks', hooks);
app.route('/admin', admin);
// The console is its own Worker (src/console/worker.ts), reached over a service binding: same URL, none of its code
// here.
const toConsole = async (c: Context<AppEnv>) => {
  try {
    // redirects (sign-in, post-then-get) go back to the browser as they are, never followed here; the console is told
    // which endpoint secrets this Worker holds (src/secrets/handoff.ts)
    return await c.env.CONSOLE.fetch(await withSecretFacts(c.req.raw, c.env));
  } catch (err) {
    console.error('console Worker unreachable', err);
    throw new ApiError(
      503,
      'console_unavailable',
      'The console Worker (crm-webhook-adapter-console) did not answer: deploy it with `npm run deploy`',
    );
  }
};
app.all('/console', toConsole);
app.all('/console/*', toConsole);
app.notFound(notFound);
app.onError(onError);

export default {
  fetch: app.fetch,
  /** Queued deliveries and their dead-letter queue (src/entry/queue.ts). */
  queue: handleQueue,
  /** Re-drive, retention, alerts (src/entry/cron.ts). */
  scheduled: async (controller, env, ctx) => {
    ctx.waitUntil(runCron(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, DeliveryMessage>;
