/**
 * Per-endpoint, per-client-IP rate limiting with the Workers Rate Limiting binding
 * (`[[ratelimits]]` HOOK_RATE_LIMITER in wrangler.toml: its limit and period are fixed there and
 * counted per Cloudflare location). Endpoints opt in with `"rateLimit": true`.
 */

/** The binding's period in seconds (`simple.period` in wrangler.toml), sent as Retry-After. */
import { clientNetwork } from '../shared/request';
export const RATE_LIMIT_PERIOD_SECONDS = 60;

/** `true` when the request may proceed. A limiter that fails open: its outage must not lose leads. */
export async function withinRateLimit(
  limiter: RateLimit | undefined,
  endpointId: string,
  request: Request,
): Promise<boolean> {
  if (!limiter) return true;
  try {
    const { success } = await limiter.limit({ key: `${endpointId}:${clientNetwork(request)}` });
    return success;
  } catch (err) {
    console.error('rate limiter failed; letting the request through', err);
    return true;
  }
}
