/**
 * Rows and answers outside the POST pipeline: a platform's GET verification (Meta's hub.challenge), and a
 * webhook whose endpoint exists but cannot be used as stored.
 */
import { newDeliveryId } from '../deliveries/id';
import type { StoredEndpoint } from '../endpoints/schema';
import { errorBody } from '../http/errors';
import { metaHandshake } from '../verify/handshake';
import { MISCONFIGURED, SIGNATURE_REFUSED } from './answers';
import { newRecord, queryObject, visibleHeaders } from './record';
import type { Outcome, PipelineDeps } from './webhook';

/**
 * The answer and row for a webhook whose endpoint exists but cannot be used as stored (503: the sender should retry).
 */
export function misconfigured(endpointId: string, request: Request, message: string): Outcome {
  const now = Date.now();
  const id = newDeliveryId(now);
  // the credential locations are unknown here: keep no query and no headers at all
  const record = {
    ...newRecord(id, endpointId, now, request, {}, {}),
    status: 'failed' as const,
    reason: 'endpoint_misconfigured',
    message,
    finished_at: now,
    duration_ms: 0,
  };
  return {
    status: 503,
    body: errorBody('endpoint_misconfigured', MISCONFIGURED, { deliveryId: id }),
    record,
    writes: [{ kind: 'row' }],
  };
}

/** Answers a platform's GET verification (Meta's hub.challenge); a GET without a configured handshake is not for us. */
export async function processHandshake(
  deps: PipelineDeps,
  endpoint: StoredEndpoint,
  request: Request,
): Promise<Outcome | null> {
  const handshake = endpoint.config.handshake;
  if (handshake?.type !== 'meta') return null;
  const now = deps.now();
  const id = newDeliveryId(now);
  const url = new URL(request.url);
  const record = newRecord(
    id,
    endpoint.id,
    now,
    request,
    queryObject(url, ['hub.verify_token']),
    visibleHeaders(request.headers, []),
  );
  record.finished_at = deps.now();
  record.duration_ms = record.finished_at - now;
  const result = await metaHandshake(handshake, url, deps.secrets);
  switch (result.kind) {
    case 'answered':
      return {
        status: 200,
        body: {},
        response: result.response,
        record: { ...record, status: 'handshake', message: result.detail },
        writes: [{ kind: 'row' }],
      };
    case 'refused': {
      const broken = result.reason === 'secret_missing';
      return {
        status: broken ? 503 : 401,
        body: broken
          ? errorBody('endpoint_misconfigured', MISCONFIGURED, { deliveryId: id })
          : errorBody('invalid_signature', SIGNATURE_REFUSED, { deliveryId: id }),
        record: { ...record, status: broken ? 'failed' : 'rejected', reason: result.reason, message: result.detail },
        writes: [{ kind: 'row' }],
      };
    }
    case 'none':
      return null;
  }
}
