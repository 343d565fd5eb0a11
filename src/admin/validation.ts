import type { Context } from 'hono';
import type * as z from '../shared/zod';
import { formatIssues } from '../endpoints/schema';
import { ApiError } from '../http/errors';
import { parseJsonLossless } from '../receive/json';

/** The 400 every admin validation failure becomes: every problem as `{ path, message }`. */
export function validationError(issues: { path: string; message: string }[], what = 'request'): ApiError {
  return new ApiError(400, 'validation_failed', `${issues.length} problem${issues.length === 1 ? '' : 's'} in the ${what}`, { issues });
}

/** Hook for `zValidator`: shapes its failures like every other 400. */
export function validationHook(result: { success: true } | { success: false; error: z.core.$ZodError }, _c: Context) {
  if (!result.success) throw validationError(formatIssues(result.error));
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
