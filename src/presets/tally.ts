import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

function fieldValue(field: Record<string, unknown>): unknown {
  const options = Array.isArray(field.options) ? (field.options as Record<string, unknown>[]) : null;
  if (!options) return field.value;
  const text = (id: unknown) => options.find((o) => o.id === id)?.text ?? id;
  return Array.isArray(field.value) ? field.value.map(text) : text(field.value);
}

/** Tally: `data.fields[]` keyed by `key` and by `label`; option ids turned into their texts. */
export const tally: Preset = {
  name: 'tally',
  title: 'Tally',
  source: 'sender docs',
  config: {
    verify: { type: 'hmac', preset: 'tally', secret: 'TALLY_SECRET' },
    idempotencyKey: 'eventId',
  },
  view(body) {
    if (!isObject(body) || !isObject(body.data)) return body;
    const fields: Record<string, unknown> = {};
    for (const f of Array.isArray(body.data.fields) ? body.data.fields : []) {
      if (!isObject(f)) continue;
      const value = fieldValue(f);
      if (typeof f.label === 'string' && f.label) fields[f.label] = value;
      if (typeof f.key === 'string') fields[f.key] = value;
    }
    return { ...body.data, eventId: body.eventId, fields };
  },
  recipe: sentences(
    'Tally > your form > Integrations > Webhooks > Connect: paste the URL and set a signing secret (TALLY_SECRET).',
    'Map fields.<label> (e.g.',
    'fields.Phone) or fields.<question key>.',
  ),
};
