/**
 * `GET /admin/crm`: whether calls to the CRM are paused, why, until when, and how many are in flight (the CRM limits in
 * the coordinator, src/coordination/limits.ts); `POST /admin/crm/resume`: end a pause now (the next call probes the
 * CRM).
 */
import { Hono } from 'hono/tiny';
import * as z from '../shared/zod';
import { CrmId } from '../endpoints/schema';
import type { AppEnv } from '../env';
import { crmGates, resumeCrm } from '../pipeline/crm-status';
import { valid } from './validation';

export const crmAdmin = new Hono<AppEnv>();

/**
 * `productLine`: the product line whose gate to show (with CRM_LIMIT_SCOPE=product-line; default: every endpoint's).
 */
export const CrmGateQuery = z.strictObject({ productLine: z.optional(CrmId) });

crmAdmin.get('/', valid('query', CrmGateQuery), async (c) =>
  c.json(await crmGates(c.env, c.req.valid('query').productLine)),
);

crmAdmin.post('/resume', valid('query', CrmGateQuery), async (c) =>
  c.json({ resumed: await resumeCrm(c.env, c.req.valid('query').productLine) }),
);
