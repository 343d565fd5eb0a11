import { isObject, type Preset } from './types';
import { sentences } from '../shared/text';

// `address` is the detailed line older forms send (newer ones: `street`)
const ADDRESS_PARTS = ['province', 'city', 'district', 'street', 'address'];

/** Jinshuju: `entry` fields under both `field1` and `field_1`; an address also as one line (`field_4_text`). */
export const jinshuju: Preset = {
  name: 'jinshuju',
  title: '金数据 Jinshuju',
  source: 'sender docs',
  config: {
    // Jinshuju stops pushing after 6 failed answers in a row and never re-sends what came in between: a lead it
    // cannot place is answered 200 (`unmatched` in the log, replayable), and older forms want 200 exactly
    response: { status: 200, unresolved: 'accept' },
    verify: { type: 'token', query: 'token', secret: 'JINSHUJU_TOKEN' },
    // Jinshuju hangs up after 2 s: answer at once, deliver from the queue.
    delivery: { mode: 'queue' },
    // Jinshuju re-sends an entry when it is edited (same serial_number, newer updated_at): an edit is delivered, an
    // exact repeat is not
    idempotencyKey: '$string(form) & ":" & $string(entry.serial_number) & ":" & $string(entry.updated_at)',
    // an edit re-sent after a newer one (a retry) never overwrites it
    version: 'entry.updated_at',
  },
  view(body) {
    if (!isObject(body) || !isObject(body.entry)) return body;
    const entry: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body.entry)) {
      entry[key] = value;
      const m = /^field_?(\d+)$/.exec(key);
      if (m) {
        entry[`field${m[1]}`] = value;
        entry[`field_${m[1]}`] = value;
        if (isObject(value) && ADDRESS_PARTS.some((p) => p in value)) {
          const line = ADDRESS_PARTS.map((p) => value[p])
            .filter((v) => typeof v === 'string' && v)
            .join('');
          entry[`field${m[1]}_text`] = line;
          entry[`field_${m[1]}_text`] = line;
        }
      }
    }
    return { ...body, entry };
  },
  recipe: sentences(
    '金数据 > 表单 > 设置 > 数据推送 (Webhook): paste the URL with ?token=<JINSHUJU_TOKEN> and choose JSON.',
    'Map entry.field_1 (or entry.field1);',
    'multi-choice fields are arrays, an address is an object and also one line as entry.field_N_text.',
    'Jinshuju stops pushing after 6 failed answers in a row and does not re-send what came in between:',
    'this preset queues (answers at once) and answers 200.',
  ),
};
