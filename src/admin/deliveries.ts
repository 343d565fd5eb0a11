import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import * as z from 'zod';
import { DELIVERY_STATUSES, getDelivery, listDeliveries } from '../deliveries/store';
import { EndpointId } from '../endpoints/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { validationHook } from './validation';

export const deliveriesAdmin = new Hono<AppEnv>();

const ListQuery = z.strictObject({
  endpoint: EndpointId.optional(),
  status: z.enum(DELIVERY_STATUSES as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^[0-9a-z]{26}$/, 'cursor is the nextCursor of a previous page').optional(),
});

deliveriesAdmin.get('/', zValidator('query', ListQuery, validationHook), async (c) => {
  const query = c.req.valid('query');
  return c.json(await listDeliveries(c.env.DB, query as Parameters<typeof listDeliveries>[1]));
});

deliveriesAdmin.get('/:id', async (c) => {
  const delivery = await getDelivery(c.env.DB, c.req.param('id'));
  if (!delivery) throw new ApiError(404, 'not_found', 'No such delivery');
  return c.json(delivery);
});
