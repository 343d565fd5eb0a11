import { Hono } from 'hono/tiny';
import { admin } from './admin';
import { consolePages } from './console';
import type { AppEnv } from './env';
import { notFound, onError } from './http/errors';
import { hooks } from './entry/webhook';
import { runCron } from './entry/cron';
import type { DeliveryMessage } from './pipeline/core';
import { handleQueue } from './entry/queue';

/** Wires the routes; every step of the pipeline lives in its own folder (see README). */
const app = new Hono<AppEnv>();

app.get('/', (c) => c.json({ name: 'crm-webhook-adapter', webhooks: 'POST /hooks/{endpoint}', admin: '/admin (Authorization: Bearer <ADMIN_TOKEN>)', console: '/console' }));
app.route('/hooks', hooks);
app.route('/admin', admin);
app.route('/console', consolePages);
app.notFound(notFound);
app.onError(onError);

export default {
  fetch: app.fetch,
  /** Queued deliveries and their dead-letter queue (src/queue/). */
  queue: handleQueue,
  /** Re-drive, retention, alerts (src/cron.ts). */
  scheduled: async (controller, env, ctx) => {
    ctx.waitUntil(runCron(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, DeliveryMessage>;
