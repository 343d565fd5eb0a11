import type { Context, Env, MiddlewareHandler } from 'hono';
import { formatIssues } from '../endpoints/schema';
import { ApiError } from '../http/errors';
import { parseJsonLossless } from '../receive/json';
import * as z from '../shared/zod';

/** The 400 every admin validation failure becomes: every problem as `{ path, message }`. */
export function validationError(issues: { path: string; message: string }[], what = 'request'): ApiError {
  return new ApiError(
    400,
    'validation_failed',
    `${issues.length} problem${issues.length === 1 ? '' : 's'} in the ${what}`,
    { issues },
  );
}

type Target = 'query' | 'param' | 'json';

/**
 * The one way the admin API checks what it is sent: a middleware per route and target (the query, the path
 * parameters, the JSON body) with a zod schema; the handler reads the result with `c.req.valid(target)`, and a
 * failure is the usual 400 listing every problem. JSON bodies are read losslessly (ids above 2^53 given as
 * numbers keep every digit), whatever the content type says.
 * @example endpointsAdmin.put('/:id', valid('param', IdParam), (c) => c.req.valid('param').id)
 */
export function valid<T extends Target, S extends z.core.$ZodType>(
  target: T,
  schema: S,
  what = 'request',
): MiddlewareHandler<Env, string, { in: { [K in T]: z.input<S> }; out: { [K in T]: z.output<S> } }> {
  return async (c, next) => {
    const input = target === 'json' ? await readJsonBody(c) : target === 'param' ? c.req.param() : queryOf(c);
    const parsed = z.safeParse(schema, input);
    if (!parsed.success) throw validationError(formatIssues(parsed.error), what);
    c.req.addValidatedData(target, parsed.data as Record<string, unknown>);
    await next();
  };
}

/** The query as Hono's validator sees it: a repeated parameter becomes an array. */
function queryOf(c: Context): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));
}

/** Reads a JSON request body losslessly (CRM ids above 2^53 given as numbers keep every digit). */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return parseJsonLossless(text);
  } catch (err) {
    throw new ApiError(400, 'invalid_body', `Body is not valid JSON: ${(err as Error).message}`);
  }
}
