import { crmSettings } from '../crm/client';
import { coordinationOf } from '../coordination';
import type { DeliveryMessage } from '../pipeline/core';
import { attemptDelivery, type AttemptDeps } from '../pipeline/attempt';
import { markDeadLettered } from '../deliveries/lifecycle';
import { endTurnAt } from '../pipeline/turn';
import { adapterSecretValues } from '../secrets/resolver';

/** The dead-letter queue's name (wrangler.toml): messages the consumer could not handle at all end there. */
export const DEAD_LETTER_QUEUE = 'crm-deliveries-dlq';
const ID = /^[0-9a-z]{26}$/;

/**
 * How long a queued attempt waits for a CRM slot, and for a running delivery of its customer, before its message is
 * retried later.
 */
const QUEUED_SLOT_WAIT_MS = 10_000;
const QUEUED_TURN_WAIT_MS = 5_000;

export function attemptDeps(env: Env, now: () => number = Date.now): AttemptDeps {
  return {
    db: env.DB,
    endpoints: env.ENDPOINTS,
    queue: env.DELIVERY_QUEUE,
    coordination: coordinationOf(env),
    slotWaitMs: QUEUED_SLOT_WAIT_MS,
    turnWaitMs: QUEUED_TURN_WAIT_MS,
    crm: crmSettings(env),
    fetch: (input, init) => fetch(input, init),
    now,
    knownSecrets: adapterSecretValues(env),
  };
}

/** The Worker's `queue` handler: deliveries from `crm-deliveries`, the dead ones from its dead-letter queue. */
export async function handleQueue(
  batch: MessageBatch<DeliveryMessage>,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
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
        const done = await attemptDelivery(deps, id);
        if (done.action === 'ack') message.ack();
        else message.retry({ delaySeconds: done.delaySeconds });
        await drainLine(deps, done.next);
      } catch (err) {
        // D1 or KV unreachable, or a bug: the queue tries again, and after max_retries the message goes to the
        // dead-letter queue.
        console.error(`delivery ${id}: attempt failed unexpectedly`, err);
        message.retry({ delaySeconds: 60 });
      }
    }),
  );
}

/** How many of a customer's waiting deliveries one message may attempt in a row (each is also in the queue already). */
const CHAIN_LIMIT = 25;

/**
 * The customer's next deliveries, attempted at once while their turns come one after the other (a burst for one
 * person drains at the CRM's pace, not one queue hop per delivery). Each was sent to the queue too: a message for a
 * delivery already done is acknowledged without a call.
 */
async function drainLine(deps: AttemptDeps, next: string | undefined): Promise<void> {
  for (let hops = 0; next && hops < CHAIN_LIMIT; hops++) {
    try {
      next = (await attemptDelivery(deps, next)).next;
    } catch (err) {
      console.error(`delivery ${next}: chained attempt failed; its own message retries it`, err);
      return;
    }
  }
}

/** A message the queue gave up on: its delivery, if still in flight, is dead (and lets its customer's next one go). */
async function markDead(deps: AttemptDeps, id: string): Promise<void> {
  const now = deps.now();
  const row = await markDeadLettered(deps.db, id, now);
  if (!row) return;
  if (row.sequence_key)
    await endTurnAt(
      deps,
      {
        key: row.sequence_key,
        ticket: { deliveryId: id, endpointId: row.endpoint_id, version: row.version, round: row.replays },
      },
      'ended',
    );
}
