/**
 * The console Worker (wrangler.console.toml): the pages under /console, kept out of the webhook Worker so that a
 * webhook's cold start never parses console code (its catalogue, views and editor). The webhook Worker forwards
 * /console to it over the CONSOLE service binding, so users keep one URL; it shares the same D1, KV and Queue.
 */
import { Hono } from 'hono/tiny';
import type { AppEnv } from '../env';
import { notFound, onError } from '../http/errors';
import { consolePages } from './index';

const app = new Hono<AppEnv>();
app.route('/console', consolePages);
app.notFound(notFound);
app.onError(onError);

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
