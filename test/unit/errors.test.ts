/** The one place errors become answers (src/http/errors.ts): ours, Hono's own 4xx, and anything else. */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, notFound, onError } from '../../src/http/errors';

function appThrowing(err: Error) {
  const app = new Hono();
  app.get('/x', () => {
    throw err;
  });
  app.onError(onError);
  app.notFound(notFound);
  return app;
}

describe('onError', () => {
  it('answers our ApiError with its status, code, message and what it adds beside the error', async () => {
    const res = await appThrowing(new ApiError(409, 'conflict', 'taken', { id: '1' })).request('/x');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: { code: 'conflict', message: 'taken' }, id: '1' });
  });

  it.each([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [405, 'method_not_allowed'],
    [413, 'payload_too_large'],
    [415, 'unsupported_media_type'],
    [429, 'rate_limited'],
    [400, 'invalid_body'],
  ] as const)('gives a Hono %i the code its status means (%s), in our body', async (status, code) => {
    const res = await appThrowing(new HTTPException(status, { message: 'from a middleware' })).request('/x');
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: 'from a middleware' } });
  });

  it('answers anything else 500 without echoing it', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await appThrowing(new Error('secret detail at db.ts:12')).request('/x');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal_error', message: 'Internal error' } });
    expect(log).toHaveBeenCalledOnce();
    log.mockRestore();
  });

  it('answers an unknown route 404 in the same body', async () => {
    const res = await appThrowing(new Error('x')).request('/nothing', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'No route for POST /nothing' } });
  });
});
