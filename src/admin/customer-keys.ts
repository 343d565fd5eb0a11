import { Hono } from 'hono/tiny';
import * as z from '../shared/zod';
import { csvRows, deleteKey, importCustomerKeys, KeyName, listKeys } from '../customers/keys';
import { CrmId } from '../endpoints/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../http/errors';
import { readJsonBody, valid } from './validation';

/**
 * `/admin/customer-keys`: external keys -> CRM customer ids, per module.
 * Import JSON (`[{ "customer_id", "key", "value" }]`) or CSV (`customer_id,key,value` header).
 */
export const customerKeysAdmin = new Hono<AppEnv>();

export const ModuleQuery = z.strictObject({ moduleId: CrmId });
export const KeysListQuery = z.strictObject({
  moduleId: z.optional(CrmId),
  key: z.optional(KeyName),
  value: z.optional(z.string().check(z.maxLength(256))),
  customerId: z.optional(CrmId),
  limit: z._default(z.coerce.number().check(z.int()).check(z.gte(1)).check(z.lte(1000)), 100),
});
export const KeysDeleteQuery = z.strictObject({
  moduleId: CrmId,
  key: KeyName,
  value: z.string().check(z.minLength(1)).check(z.maxLength(256)),
});

customerKeysAdmin.post('/', valid('query', ModuleQuery), async (c) => {
  const { moduleId } = c.req.valid('query');
  const contentType = c.req.header('content-type') ?? '';
  let rows: unknown[];
  if (/^text\/(csv|plain)/i.test(contentType)) {
    const parsed = csvRows(await c.req.text());
    if (parsed === null)
      throw new ApiError(400, 'invalid_body', 'The CSV needs a header row with customer_id,key,value');
    rows = parsed;
  } else {
    const body = await readJsonBody(c);
    if (!Array.isArray(body))
      throw new ApiError(
        400,
        'invalid_body',
        'Send a JSON array of { customer_id, key, value }, or CSV with content-type text/csv',
      );
    rows = body;
  }
  return c.json(await importCustomerKeys(c.env.DB, moduleId, rows, Date.now()));
});

customerKeysAdmin.get('/', valid('query', KeysListQuery), async (c) => {
  const q = c.req.valid('query');
  return c.json({
    keys: await listKeys(c.env.DB, q.moduleId, { key: q.key, value: q.value, customerId: q.customerId }, q.limit),
  });
});

customerKeysAdmin.delete('/', valid('query', KeysDeleteQuery), async (c) => {
  const q = c.req.valid('query');
  if (!(await deleteKey(c.env.DB, q.moduleId, q.key, q.value))) throw new ApiError(404, 'not_found', 'No such key');
  return c.body(null, 204);
});
