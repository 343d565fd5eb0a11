/**
 * A person's answer for a create whose outcome is unknown (`create_unconfirmed`: the CRM did not answer clearly, or
 * the Worker stopped mid-call): "it was created, this is its id" learns the lead's lookup keys for that id, then runs
 * the delivery again (now an update); "it was not" lets the delivery create it, once. Both go through the queue.
 */
import { answerUnconfirmed } from '../deliveries/lifecycle';
import { getDeliveryRow } from '../deliveries/store';
import { getEndpoint } from '../endpoints/store';
import { compiledMappingFor } from '../mapping/compile';
import { isCanonicalId } from '../shared/ids';
import { storedBody, storedRequest } from './attempt';
import { type DeliveryMessage, enqueue, prepare } from './core';
import { learnLookups } from './deliver';

export type CreateAnswer = { created: true; customerId: string } | { created: false };
export type AnswerResult =
  | { ok: true }
  | { ok: false; why: 'not_found' | 'not_unconfirmed' | 'invalid'; message: string };

export async function answerCreate(
  env: { DB: D1Database; ENDPOINTS: KVNamespace; DELIVERY_QUEUE: Queue<DeliveryMessage> },
  id: string,
  answer: CreateAnswer,
  now: number,
): Promise<AnswerResult> {
  const row = await getDeliveryRow(env.DB, id);
  if (!row) return { ok: false, why: 'not_found', message: 'No such delivery' };
  if (row.status !== 'failed' || row.create_state !== 'unconfirmed') {
    return { ok: false, why: 'not_unconfirmed', message: 'This delivery is not waiting for an answer about a create' };
  }
  if (answer.created) {
    if (!isCanonicalId(answer.customerId))
      return { ok: false, why: 'invalid', message: 'The customer id is the CRM id: a string of digits' };
    const learned = await learnKeysOf(env, row, answer.customerId, now);
    if (!learned.ok) return learned;
  }
  if (!(await answerUnconfirmed(env.DB, id, answer.created ? 'created' : 'absent', now))) {
    return {
      ok: false,
      why: 'not_unconfirmed',
      message: 'This delivery is not waiting for an answer about a create (or its body was removed)',
    };
  }
  await enqueue(env.DELIVERY_QUEUE, id);
  return { ok: true };
}

/**
 * The lead's lookup keys (mapped from its stored body under today's configuration), learned for the customer a person
 * named.
 */
async function learnKeysOf(
  env: { DB: D1Database; ENDPOINTS: KVNamespace },
  row: NonNullable<Awaited<ReturnType<typeof getDeliveryRow>>>,
  customerId: string,
  now: number,
): Promise<AnswerResult> {
  const endpoint = await getEndpoint(env.ENDPOINTS, row.endpoint_id).catch(() => null);
  const bytes = storedBody(row);
  if (!endpoint || !bytes)
    return {
      ok: false,
      why: 'invalid',
      message: 'The endpoint or the stored body is gone: import the key under Customer keys instead',
    };
  const mapping = compiledMappingFor(`${endpoint.id}:${endpoint.revision}`, endpoint.config);
  const prepared = await prepare(endpoint.config, mapping, storedRequest(row, bytes));
  if (!prepared.ok || (prepared.mapped.lookups ?? []).length === 0) {
    return {
      ok: false,
      why: 'invalid',
      message: 'The lead has no lookup key to learn: import the key under Customer keys instead',
    };
  }
  await learnLookups(env.DB, endpoint.config.crm.moduleId, prepared.mapped.lookups ?? [], customerId, now);
  return { ok: true };
}
