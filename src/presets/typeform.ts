import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

/** The value of one Typeform answer: it sits under the key its `type` names; choices become their labels. */
function answerValue(answer: Record<string, unknown>): unknown {
  const value = answer[String(answer.type)];
  if (answer.type === 'choice' && isObject(value)) return value.label ?? value.other;
  if (answer.type === 'choices' && isObject(value))
    return [...((value.labels as unknown[]) ?? []), ...(value.other ? [value.other] : [])];
  return value;
}

/** Typeform: answers keyed by `field.ref`, hidden fields kept. */
export const typeform: Preset = {
  name: 'typeform',
  title: 'Typeform',
  source: 'sender docs',
  config: {
    verify: { type: 'hmac', preset: 'typeform', secret: 'TYPEFORM_SECRET' },
    idempotencyKey: 'event_id',
    // partial answers (a form left half way) are not leads yet: logged as skipped
    skipWhen: 'event_type = "form_response_partial"',
    customerId: 'hidden.crm_id',
    customerLookup: [
      { key: 'phone', value: 'answers.phone' },
      { key: 'email', value: 'answers.email' },
    ],
  },
  view(body) {
    if (!isObject(body) || !isObject(body.form_response)) return body;
    const response = body.form_response;
    const answers: Record<string, unknown> = {};
    for (const a of Array.isArray(response.answers) ? response.answers : []) {
      if (isObject(a) && isObject(a.field)) answers[String(a.field.ref ?? a.field.id)] = answerValue(a);
    }
    return {
      event_id: body.event_id,
      event_type: body.event_type,
      form_id: response.form_id,
      token: response.token,
      submitted_at: response.submitted_at,
      hidden: response.hidden ?? {},
      variables: response.variables,
      answers,
    };
  },
  recipe: sentences(
    'Typeform > your form > Connect > Webhooks > Add a webhook: paste the URL, then Edit > Secret:',
    'the same value as TYPEFORM_SECRET.',
    'Give each question a readable ref (Logic/Question settings) and map answers.<ref>;',
    'hidden fields are hidden.<name>.',
  ),
};
