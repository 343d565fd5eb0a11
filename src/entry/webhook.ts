import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { Hono } from 'hono/tiny';
import { crmSettings } from '../crm/client';
import { insertDelivery } from '../deliveries/store';
import { EndpointId, type StoredEndpoint } from '../endpoints/schema';
import { getEndpoint, getEndpointCached } from '../endpoints/store';
import { coordinationOf } from '../coordination';
import type { AppEnv } from '../env';
import { ApiError, errorBody } from '../http/errors';
import { policyAnswer } from '../pipeline/answers';
import { misconfigured, processHandshake } from '../pipeline/handshake';
import { type PipelineDeps, processWebhook, saveOutcome } from '../pipeline/webhook';
import { adapterSecretValues, secretResolver } from '../secrets/resolver';
import { TURNSTILE_DEFAULT_URL } from '../verify/turnstile';
import { countRateLimited } from '../deliveries/rate-limited';
import { RATE_LIMIT_PERIOD_SECONDS, withinRateLimit } from '../receive/rate-limit';

/** `POST /hooks/{endpoint}`: the URL users paste into their form tool or ad platform. */
type HooksEnv = AppEnv & { Variables: { endpoint?: StoredEndpoint } };
export const hooks = new Hono<HooksEnv>();

const FORM_POST = /^(application\/x-www-form-urlencoded|multipart\/form-data)/i;

// A browser may read the answer only from an origin the endpoint allows.
hooks.use('/:id', async (c, next) => {
  await next();
  const origin = c.req.header('origin');
  if (!origin || c.req.method === 'OPTIONS') return;
  const endpoint = c.get('endpoint');
  if (endpoint?.config.cors?.origins.includes(origin)) {
    c.res.headers.set('access-control-allow-origin', origin);
    c.res.headers.append('vary', 'Origin');
  }
});

hooks.post('/:id', async (c) => {
  const id = c.req.param('id');
  let endpoint: StoredEndpoint | null = null;
  try {
    endpoint = await findEndpoint(c.env, id);
  } catch (err) {
    // A stored configuration that no longer validates: the operator's to fix, and the sender should retry.
    const outcome = misconfigured(
      id,
      c.req.raw,
      `stored configuration is invalid: ${(err as Error).message.slice(0, 500)}`,
    );
    c.executionCtx.waitUntil(
      insertDelivery(c.env.DB, outcome.record).catch((e) => console.error('delivery log write failed', e)),
    );
    return c.json(outcome.body, outcome.status);
  }
  if (endpoint) c.set('endpoint', endpoint);
  if (!endpoint) {
    // Unknown endpoints leave no row (a scan must not become D1 writes); the Worker's logs count them. Never 410:
    // some senders (Typeform) switch a webhook off for good on a 410. A disabled endpoint is paused, not gone.
    console.log(JSON.stringify({ event: 'unknown_endpoint', endpoint: id.slice(0, 80) }));
    throw new ApiError(404, 'not_found', 'No such endpoint');
  }
  if (endpoint.config.rateLimit && !(await withinRateLimit(c.env.HOOK_RATE_LIMITER, endpoint.id, c.req.raw))) {
    const { redirect } = endpoint.config;
    if (redirect && FORM_POST.test(c.req.header('content-type') ?? '')) {
      c.header('retry-after', String(RATE_LIMIT_PERIOD_SECONDS));
      return c.redirect(redirect.failure, 303);
    }
    return rateLimited(c, endpoint.id);
  }

  // a paused endpoint is read again past this isolate's cache: one enabled a moment ago delivers instead of holding
  if (!endpoint.config.enabled) endpoint = (await getEndpoint(c.env.ENDPOINTS, id).catch(() => null)) ?? endpoint;
  const outcome = processWebhook(deps(c.env, c.executionCtx), endpoint, c.req.raw);
  // Registered before anything is awaited: a sender that hangs up (Jinshuju waits 2 s) cancels
  // neither the CRM call nor the log write. In sync mode the answer goes out before the row is
  // written; queue mode (and a sync failure handed to the queue) writes it before answering 202.
  // The write starts a timer turn later, once the answer is handed to the runtime: a write started at once runs
  // ahead of the answer where D1 shares the Worker's thread (locally), and the answer need not wait for it anywhere.
  c.executionCtx.waitUntil(
    outcome
      .then(async (o) => {
        await afterTheAnswer();
        await saveOutcome(c.env.DB, o);
      })
      .catch((err) => console.error('delivery log write failed', err)),
  );
  const done = await outcome;
  if (done.response) return done.response;
  // the endpoint's answer policy (`response`): status, body, and whether an unresolved customer is accepted
  const { status, body } = policyAnswer(endpoint.config, done);
  const { redirect } = endpoint.config;
  // Only the configured URLs: nothing in the request can choose where the browser goes.
  if (redirect && FORM_POST.test(c.req.header('content-type') ?? ''))
    return c.redirect(status < 300 ? redirect.success : redirect.failure, 303);
  return body === null ? c.body(null, 204) : c.json(body, status as ContentfulStatusCode);
});

/** Resolves on the next turn of the event loop: after the fetch handler's answer has been handed to the runtime. */
const afterTheAnswer = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

// CORS preflight for browsers posting with fetch from an allowed origin.
hooks.options('/:id', async (c) => {
  const endpoint = await findEndpoint(c.env, c.req.param('id'));
  const origin = c.req.header('origin');
  c.header('vary', 'Origin');
  if (!endpoint || !origin || !endpoint.config.cors?.origins.includes(origin)) return c.body(null, 403);
  const token =
    endpoint.config.verify.type === 'token' && endpoint.config.verify.header
      ? `, ${endpoint.config.verify.header}`
      : '';
  c.header('access-control-allow-origin', origin);
  c.header('access-control-allow-methods', 'POST');
  c.header('access-control-allow-headers', `content-type${token}`);
  c.header('access-control-max-age', '600');
  return c.body(null, 204);
});

// Platform verification by GET (Meta's hub.challenge), for endpoints that configure it.
hooks.get('/:id', async (c) => {
  const id = c.req.param('id');
  const endpoint = await findEndpoint(c.env, id);
  if (!endpoint) throw new ApiError(404, 'not_found', 'No such endpoint');
  if (endpoint.config.rateLimit && !(await withinRateLimit(c.env.HOOK_RATE_LIMITER, endpoint.id, c.req.raw)))
    return rateLimited(c, endpoint.id);
  const outcome = await processHandshake(deps(c.env, c.executionCtx), endpoint, c.req.raw);
  if (!outcome) throw new ApiError(405, 'method_not_allowed', 'Webhooks are POSTed to this URL');
  c.executionCtx.waitUntil(
    insertDelivery(c.env.DB, outcome.record).catch((err) => console.error('delivery log write failed', err)),
  );
  return outcome.response ?? c.json(outcome.body, outcome.status);
});

hooks.all('/:id', () => {
  throw new ApiError(405, 'method_not_allowed', 'Webhooks are POSTed to this URL');
});

/** 429 with Retry-After. No delivery row (a flood must not become D1 writes): counted per minute instead. */
function rateLimited(c: Context<HooksEnv>, endpointId: string) {
  console.log(JSON.stringify({ event: 'rate_limited', endpoint: endpointId }));
  const flush = countRateLimited(c.env.DB, endpointId, Date.now());
  if (flush) c.executionCtx.waitUntil(flush.catch((err) => console.error('rate-limit count write failed', err)));
  c.header('retry-after', String(RATE_LIMIT_PERIOD_SECONDS));
  return c.json(
    errorBody('rate_limited', `Too many requests from this address; retry after ${RATE_LIMIT_PERIOD_SECONDS} s`),
    429,
  );
}

/** The endpoint named in the URL; `null` for an unknown or malformed id. */
function findEndpoint(env: Env, id: string): Promise<StoredEndpoint | null> {
  return EndpointId.safeParse(id).success ? getEndpointCached(env.ENDPOINTS, id) : Promise.resolve(null);
}

/**
 * How long a sync webhook waits for a CRM slot, and for a running delivery of its customer, before it goes to the
 * queue instead (senders such as Jinshuju hang up after 2 s).
 */
const SYNC_SLOT_WAIT_MS = 1_000;

export function deps(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>): PipelineDeps {
  return {
    coordination: coordinationOf(env),
    slotWaitMs: SYNC_SLOT_WAIT_MS,
    turnWaitMs: SYNC_SLOT_WAIT_MS,
    defer: (work) => ctx.waitUntil(work.catch((err) => console.error('deferred work failed', err))),
    db: env.DB,
    queue: env.DELIVERY_QUEUE,
    crm: crmSettings(env),
    fetch: (input, init) => fetch(input, init),
    secrets: secretResolver(env),
    knownSecrets: adapterSecretValues(env),
    now: Date.now,
    turnstileUrl: env.TURNSTILE_VERIFY_URL || TURNSTILE_DEFAULT_URL,
  };
}
