import { Hono } from 'hono/tiny';
import * as z from '../shared/zod';
import { listAttempts } from '../deliveries/attempts';
import { DELIVERY_STATUSES, getDelivery, listDeliveries, type DeliveryStatus } from '../deliveries/store';
import { acceptOne, replayMany, ReplayFilter, replayOne } from '../pipeline/replay';
import { CrmId, EndpointId } from '../endpoints/schema';
import { answerCreate } from '../pipeline/create-check';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { valid } from './validation';
import { actorOf } from '../shared/roles';
import { previewDelivery } from './preview';

export const deliveriesAdmin = new Hono<AppEnv>();

export const DeliveryListQuery = z.strictObject({
  endpoint: z.optional(EndpointId),
  status: z.optional(z.enum(DELIVERY_STATUSES as [string, ...string[]])),
  /** ISO times bounding `receivedAt` (since inclusive, until exclusive). */
  since: z.optional(z.iso.datetime({ offset: true })),
  until: z.optional(z.iso.datetime({ offset: true })),
  /** A delivery id or customer id exactly, or text in the stored payload (a phone number, a name). */
  q: z.optional(z.string().check(z.trim()).check(z.minLength(1)).check(z.maxLength(100))),
  limit: z._default(z.coerce.number().check(z.int()).check(z.gte(1)).check(z.lte(200)), 50),
  cursor: z.optional(z.string().check(z.regex(/^[0-9a-z]{26}$/, 'cursor is the nextCursor of a previous page'))),
});

deliveriesAdmin.get('/', valid('query', DeliveryListQuery), async (c) => {
  const { since, until, ...query } = c.req.valid('query');
  const ms = (t: string | undefined) => (t === undefined ? undefined : Date.parse(t));
  return c.json(
    await listDeliveries(c.env.DB, {
      ...query,
      status: query.status as DeliveryStatus | undefined,
      since: ms(since),
      until: ms(until),
    }),
  );
});

deliveriesAdmin.get('/:id', async (c) => {
  const id = c.req.param('id');
  const [delivery, attempts] = await Promise.all([getDelivery(c.env.DB, id), listAttempts(c.env.DB, id)]);
  if (!delivery) throw new ApiError(404, 'not_found', 'No such delivery');
  return c.json({ ...delivery, attempts });
});

/**
 * Replays by filter: `{ "status": "failed", "endpoint"?, "since"?, "until"?, "limit"? (100, at most 500), "dryRun"? }`.
 */
deliveriesAdmin.post('/replay', valid('json', ReplayFilter, 'replay filter'), async (c) => {
  const filter = c.req.valid('json');
  const result = await replayMany(c.env.DB, c.env.DELIVERY_QUEUE, filter, Date.now());
  // a dry run changes nothing: no audit row
  c.set(
    'auditDetail',
    filter.dryRun ? { noChange: true } : { status: filter.status, endpoint: filter.endpoint, queued: result.queued },
  );
  return c.json({ ...result, dryRun: filter.dryRun }, filter.dryRun ? 200 : 202);
});

/** What a replay of this delivery would send under today's configuration. */
deliveriesAdmin.post('/:id/preview', async (c) => c.json(await previewDelivery(c, c.req.param('id'))));

/** Replays one delivery against the endpoint's current configuration, through the queue. */
deliveriesAdmin.post('/:id/replay', async (c) => {
  const id = c.req.param('id');
  const result = await replayOne(c.env.DB, c.env.DELIVERY_QUEUE, id, Date.now());
  if (!result.ok) {
    if (result.why === 'not_found') throw new ApiError(404, 'not_found', result.message);
    throw new ApiError(409, result.why === 'in_flight' ? 'conflict' : 'not_replayable', result.message);
  }
  return c.json({ deliveryId: id, status: 'queued' }, 202);
});

/**
 * Accepts a webhook refused for its token or signature, after review: it is delivered as if verified, through the
 * queue; the row records who accepted it and when. Never automatic.
 */
deliveriesAdmin.post('/:id/accept', async (c) => {
  const id = c.req.param('id');
  const by = actorOf(c.get('person'));
  const result = await acceptOne(c.env.DB, c.env.DELIVERY_QUEUE, id, by, Date.now());
  if (!result.ok) throw new ApiError(result.why === 'not_found' ? 404 : 409, result.why, result.message);
  return c.json({ deliveryId: id, status: 'queued', acceptedBy: by }, 202);
});

export const CreateAnswerBody = z.union([
  z.strictObject({ created: z.literal(true), customerId: CrmId }),
  z.strictObject({ created: z.literal(false) }),
]);

/**
 * Answers a create whose outcome was unknown (`create_unconfirmed`), after checking the CRM: `{"created": true,
 * "customerId": "…"}` learns the lead's keys for that id and delivers to it; `{"created": false}` creates it now.
 */
deliveriesAdmin.post('/:id/create-answer', valid('json', CreateAnswerBody, 'answer'), async (c) => {
  const id = c.req.param('id');
  const result = await answerCreate(c.env, id, c.req.valid('json'), Date.now());
  if (!result.ok)
    throw new ApiError(
      result.why === 'not_found' ? 404 : result.why === 'invalid' ? 400 : 409,
      result.why === 'invalid' ? 'validation_failed' : result.why === 'not_found' ? 'not_found' : 'conflict',
      result.message,
    );
  return c.json({ deliveryId: id, status: 'queued' }, 202);
});
