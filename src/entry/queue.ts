import { crmSettings } from '../crm/client';
import type { DeliveryMessage } from '../pipeline/core';
import { alertDead, attemptDelivery, type AttemptDeps } from '../pipeline/attempt';
import { IN_FLIGHT_SQL } from '../deliveries/store';
import { adapterSecretValues } from '../secrets/resolver';

/** The dead-letter queue's name (wrangler.toml): messages the consumer could not handle at all end there. */
export const DEAD_LETTER_QUEUE = 'crm-deliveries-dlq';
const ID = /^[0-9a-z]{26}$/;

export function attemptDeps(env: Env, now: () => number = Date.now): AttemptDeps {
  return {
    db: env.DB,
    endpoints: env.ENDPOINTS,
    crm: crmSettings(env),
    fetch: (input, init) => fetch(input, init),
    now,
    notify: { NOTIFY_URL: env.NOTIFY_URL, NOTIFY_FORMAT: env.NOTIFY_FORMAT },
    knownSecrets: adapterSecretValues(env),
  };
}

/** The Worker's `queue` handler: deliveries from `crm-deliveries`, the dead ones from its dead-letter queue. */
export async function handleQueue(batch: MessageBatch<DeliveryMessage>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const deps = attemptDeps(env);
  await Promise.all(
    batch.messages.map(async (message) => {
      const id = message.body?.id;
      if (typeof id !== 'string' || !ID.test(id)) {
        console.error('queue message without a delivery id; dropped', JSON.stringify(message.body).slice(0, 200));
        return message.ack();
      }
      try {
        if (batch.queue === DEAD_LETTER_QUEUE) {
          await markDead(deps, id);
          return message.ack();
        }
        const next = await attemptDelivery(deps, id);
        if (next.action === 'ack') message.ack();
        else message.retry({ delaySeconds: next.delaySeconds });
      } catch (err) {
        // D1 or KV unreachable, or a bug: the queue tries again, and after max_retries the message goes to the dead-letter queue.
        console.error(`delivery ${id}: attempt failed unexpectedly`, err);
        message.retry({ delaySeconds: 60 });
      }
    }),
  );
}

/** A message the queue gave up on: its delivery, if still in flight, is dead. */
async function markDead(deps: AttemptDeps, id: string): Promise<void> {
  const now = deps.now();
  const row = await deps.db
    .prepare(
      `UPDATE deliveries SET status = 'dead', reason = COALESCE(reason, 'dead_letter'),
       message = 'the queue gave up on this delivery (dead-letter queue)' || COALESCE(': ' || message, ''),
       next_attempt_at = NULL, lease_until = NULL, finished_at = ?1, duration_ms = ?1 - received_at
       WHERE id = ?2 AND status IN ${IN_FLIGHT_SQL} RETURNING endpoint_id, reason`,
    )
    .bind(now, id)
    .first<{ endpoint_id: string; reason: string | null }>();
  if (row) await alertDead(deps, row.endpoint_id, id, row.reason, now);
}
