/**
 * The field catalogue of a CRM module (stored by ./catalogue-store.ts): each field's key, the label people know it
 * by, its type, and for a select its options (id ↔ label). The CRM documents no field list, so the catalogue is
 * filled three ways: learned from the CRM's own answers (every update and detail answer returns the whole record,
 * with selects expanded as `{id, name}`), from a request or an answer pasted from the CRM web app's developer tools,
 * and by hand. The mapping editor offers fields and options by label from it, so a marketer never types an id.
 *
 * Bounded (FIELDS_MAX fields, OPTIONS_MAX options a field, labels of LABEL_MAX characters) and safe for any key:
 * every map is an object without a prototype, and the names an object's own properties go by are refused.
 */
import { parseJsonLossless } from '../receive/json';
import { isRecord } from '../shared/json';

export type FieldType = 'text' | 'select' | 'multi' | 'number' | 'date' | 'other';
export type FieldOrigin = 'built-in' | 'learned' | 'pasted' | 'manual';
export type CatalogueField = { label: string; type: FieldType; options: Record<string, string>; origin: FieldOrigin };
export type Catalogue = {
  fields: Record<string, CatalogueField>;
  /** The newest delivery whose CRM answer was learned from (deliveries' ids sort by time). */
  learnedThrough: string;
};

export const FIELDS_MAX = 2000;
export const OPTIONS_MAX = 500;
export const LABEL_MAX = 100;

/** A CRM field key: the CRM's own (`name`, `own_id`) or a custom one (`select_1680162080347`). */
export const FIELD_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const OPTION_ID = /^[0-9]{1,30}$/;

/** The customer module's id, fixed as the vendor documents it (../shared/crm-api.md "Module id"). */
export const CUSTOMER_MODULE_ID = '347772778973233152';

/** The customer fields every installation has (../shared/crm-api.md), with the type the vendor documents. */
export const BUILT_IN_FIELDS = ['name', 'phone', 'note', 'source', 'tags'] as const;
const BUILT_IN_TYPES: Record<(typeof BUILT_IN_FIELDS)[number], FieldType> = {
  name: 'text',
  phone: 'text',
  note: 'text',
  source: 'select',
  tags: 'multi',
};

/** A custom field's key says its type: `select_…`, `input_…` (../shared/crm-api.md). */
const CUSTOM_KEY = /^(input|textarea|select|radio|checkbox|date|number|datetime|multiselect)_\d{6,}$/;

const dict = <V>(): Record<string, V> => Object.create(null);
export const isFieldKey = (key: string) => FIELD_KEY.test(key) && !UNSAFE_KEYS.has(key);
const cut = (label: string) => label.trim().slice(0, LABEL_MAX);

export function emptyCatalogue(): Catalogue {
  const fields = dict<CatalogueField>();
  for (const key of BUILT_IN_FIELDS)
    fields[key] = { label: '', type: BUILT_IN_TYPES[key], options: dict(), origin: 'built-in' };
  return { fields, learnedThrough: '' };
}

function typeOfKey(key: string): FieldType {
  if (Object.hasOwn(BUILT_IN_TYPES, key)) return BUILT_IN_TYPES[key as keyof typeof BUILT_IN_TYPES];
  const prefix = CUSTOM_KEY.exec(key)?.[1];
  if (prefix === 'select' || prefix === 'radio') return 'select';
  if (prefix === 'checkbox' || prefix === 'multiselect') return 'multi';
  if (prefix === 'number') return 'number';
  if (prefix === 'date' || prefix === 'datetime') return 'date';
  return prefix ? 'text' : 'other';
}

/** A stored catalogue as data, whatever the stored value holds: unknown shapes and unsafe keys are dropped. */
export function catalogueOf(stored: unknown): Catalogue {
  const out = emptyCatalogue();
  if (!isRecord(stored) || !isRecord(stored.fields)) return out;
  out.learnedThrough = typeof stored.learnedThrough === 'string' ? stored.learnedThrough : '';
  for (const [key, value] of Object.entries(stored.fields)) {
    if (!isFieldKey(key) || !isRecord(value)) continue;
    const options = dict<string>();
    if (isRecord(value.options))
      for (const [id, label] of Object.entries(value.options))
        if (OPTION_ID.test(id) && typeof label === 'string') options[id] = cut(label);
    const builtIn = out.fields[key]?.origin === 'built-in';
    out.fields[key] = {
      label: typeof value.label === 'string' ? cut(value.label) : '',
      type:
        typeof value.type === 'string' && ['text', 'select', 'multi', 'number', 'date', 'other'].includes(value.type)
          ? (value.type as FieldType)
          : typeOfKey(key),
      options,
      origin: builtIn ? 'built-in' : value.origin === 'learned' || value.origin === 'pasted' ? value.origin : 'manual',
    };
  }
  return out;
}

/** The labels an earlier version kept (`{ "<key>": "<label>" }`), as fields named by hand. */
export function catalogueOfLabels(stored: unknown): Catalogue {
  const out = emptyCatalogue();
  if (isRecord(stored))
    for (const [key, label] of Object.entries(stored))
      if (typeof label === 'string') addField(out, key, { label, origin: 'manual' });
  return out;
}

export type FieldChange = { label?: string; type?: FieldType; options?: Record<string, string>; origin: FieldOrigin };
export type Changed =
  | { ok: true; changed: boolean }
  | { ok: false; why: 'bad_key' | 'too_many_fields' | 'too_many_options' };

/**
 * Adds a field or adds to one: a label given replaces the one known (an empty one keeps it); options are added to
 * those known. A field learned or pasted never takes the label a person gave.
 */
export function addField(catalogue: Catalogue, key: string, change: FieldChange): Changed {
  if (!isFieldKey(key)) return { ok: false, why: 'bad_key' };
  let field = catalogue.fields[key];
  let changed = false;
  if (!field) {
    if (Object.keys(catalogue.fields).length >= FIELDS_MAX) return { ok: false, why: 'too_many_fields' };
    field = catalogue.fields[key] = {
      label: '',
      type: change.type ?? typeOfKey(key),
      options: dict(),
      origin: change.origin,
    };
    changed = true;
  }
  const label = cut(change.label ?? '');
  const byPerson = field.origin === 'manual' || field.origin === 'built-in';
  if (label && label !== field.label && (change.origin === 'manual' || !byPerson || !field.label)) {
    field.label = label;
    changed = true;
  }
  if (change.type && change.type !== field.type && change.origin === 'manual') {
    field.type = change.type;
    changed = true;
  }
  for (const [id, optionLabel] of Object.entries(change.options ?? {})) {
    const text = cut(optionLabel);
    if (!OPTION_ID.test(id) || (!text && Object.hasOwn(field.options, id))) continue;
    if (field.options[id] === text) continue;
    if (!Object.hasOwn(field.options, id) && Object.keys(field.options).length >= OPTIONS_MAX)
      return { ok: false, why: 'too_many_options' };
    field.options[id] = text;
    changed = true;
  }
  if (Object.keys(change.options ?? {}).length && field.type !== 'select' && field.type !== 'multi') {
    field.type = 'select';
    changed = true;
  }
  return { ok: true, changed };
}

/** Replaces a field by hand (its label, type and whole option list), as the catalogue page's form does. */
export function setField(
  catalogue: Catalogue,
  key: string,
  field: { label: string; type: FieldType; options: Record<string, string> },
): Changed {
  if (!isFieldKey(key)) return { ok: false, why: 'bad_key' };
  if (Object.keys(field.options).length > OPTIONS_MAX) return { ok: false, why: 'too_many_options' };
  const had = catalogue.fields[key];
  if (!had && Object.keys(catalogue.fields).length >= FIELDS_MAX) return { ok: false, why: 'too_many_fields' };
  const options = dict<string>();
  for (const [id, label] of Object.entries(field.options)) if (OPTION_ID.test(id)) options[id] = cut(label);
  catalogue.fields[key] = {
    label: cut(field.label),
    type: field.type,
    options,
    origin: had?.origin === 'built-in' ? 'built-in' : 'manual',
  };
  return { ok: true, changed: true };
}

/** Forgets a field (the CRM's own fields stay, with their label and options cleared). */
export function deleteField(catalogue: Catalogue, key: string): boolean {
  const had = catalogue.fields[key];
  if (!had) return false;
  if (had.origin === 'built-in')
    catalogue.fields[key] = {
      label: '',
      type: BUILT_IN_TYPES[key as keyof typeof BUILT_IN_TYPES],
      options: dict(),
      origin: 'built-in',
    };
  else delete catalogue.fields[key];
  return true;
}

/** A reference value as the CRM expands it, `{id, name, …}`, as `[id, name]`. */
function optionOf(value: unknown): [string, string] | null {
  if (!isRecord(value)) return null;
  const id = typeof value.id === 'number' && Number.isSafeInteger(value.id) ? String(value.id) : value.id;
  const name = value.name ?? value.label ?? value.title;
  return typeof id === 'string' && OPTION_ID.test(id) && typeof name === 'string' ? [id, name] : null;
}

/** Whether a record's key is a field a mapping may write: the CRM's own editable ones and the custom ones. */
const isWritable = (key: string) => (BUILT_IN_FIELDS as readonly string[]).includes(key) || CUSTOM_KEY.test(key);

/**
 * Learns from one customer record as the CRM answers it: the key of every field a mapping may write, and the id ↔ name
 * of every option that comes back expanded (`source: {id, name}`, a select's `{id, name}` or a list of them).
 */
export function learnRecord(catalogue: Catalogue, item: unknown, origin: 'learned' | 'pasted'): boolean {
  if (!isRecord(item)) return false;
  let changed = false;
  for (const [key, value] of Object.entries(item)) {
    if (!isWritable(key) || !isFieldKey(key)) continue;
    const options = dict<string>();
    for (const v of Array.isArray(value) ? value : [value]) {
      const option = optionOf(v);
      if (option) options[option[0]] = option[1];
    }
    const added = addField(catalogue, key, {
      origin,
      options,
      type: Array.isArray(value) && Object.keys(options).length ? 'multi' : undefined,
    });
    if (added.ok && added.changed) changed = true;
  }
  return changed;
}

/** The record an update or detail answer carries (`data.item`), or the body of an update request. */
function recordsIn(doc: unknown): unknown[] {
  if (!isRecord(doc)) return Array.isArray(doc) ? doc.flatMap(recordsIn) : [];
  const data = doc.data;
  if (isRecord(data) && isRecord(data.item)) return [data.item];
  if (isRecord(data) && isRecord(data.items) && Array.isArray(data.items.data)) return data.items.data;
  if (isRecord(data) && Array.isArray(data.data)) return data.data;
  if (isRecord(data)) return [data];
  return [doc];
}

/**
 * Field definitions a capture may carry (the CRM's form layout, whatever its shape): any object naming a field key
 * (`field`, `key`, `field_name`, `name`) beside a label (`label`, `title`, `field_label`, `name`), and its options
 * (`options`, `items`, `choices`, `select_list` as `{id|value, name|label|title}`).
 */
function learnDefinitions(catalogue: Catalogue, doc: unknown, depth = 0): boolean {
  if (depth > 12) return false;
  if (Array.isArray(doc)) return doc.map((d) => learnDefinitions(catalogue, d, depth + 1)).some(Boolean);
  if (!isRecord(doc)) return false;
  let changed = false;
  const key = ['field', 'key', 'field_name', 'field_key', 'name']
    .map((k) => doc[k])
    .find((v): v is string => typeof v === 'string' && CUSTOM_KEY.test(v));
  if (key) {
    const label =
      ['label', 'title', 'field_label', 'name']
        .map((k) => doc[k])
        .find((v): v is string => typeof v === 'string' && v !== key) ?? '';
    const options = dict<string>();
    for (const list of ['options', 'items', 'choices', 'select_list', 'option']) {
      const entries = doc[list];
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        const id = isRecord(entry) ? (entry.id ?? entry.value) : undefined;
        const option = isRecord(entry) ? optionOf({ id, name: entry.name ?? entry.label ?? entry.title }) : null;
        if (option) options[option[0]] = option[1];
      }
    }
    const added = addField(catalogue, key, { label, options, origin: 'pasted' });
    if (added.ok && added.changed) changed = true;
  }
  for (const value of Object.values(doc))
    if (typeof value === 'object' && value !== null && learnDefinitions(catalogue, value, depth + 1)) changed = true;
  return changed;
}

/**
 * The JSON a capture holds: the text itself, the body of a "Copy as cURL" (`--data-raw '…'`) or "Copy as fetch"
 * (`"body": "…"`), or what lies between its first `{` and its last `}`.
 */
export function captureJson(text: string): unknown[] {
  const tries: string[] = [text.trim()];
  for (const m of text.matchAll(/--data(?:-raw|-binary)?\s+(?:\$)?'((?:[^'\\]|\\.)*)'/g))
    tries.push(m[1]!.replace(/\\'/g, "'"));
  for (const m of text.matchAll(/"body"\s*:\s*("(?:[^"\\]|\\.)*")/g)) {
    try {
      tries.push(JSON.parse(m[1]!) as string);
    } catch {}
  }
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) tries.push(text.slice(first, last + 1));
  const out: unknown[] = [];
  for (const t of tries) {
    try {
      out.push(parseJsonLossless(t));
    } catch {}
  }
  return out;
}

/** Learns from a pasted capture: a request or answer of the CRM web app; how many fields it named, or null for none. */
export function learnCapture(catalogue: Catalogue, text: string): { changed: boolean; found: boolean } {
  const docs = captureJson(text).slice(0, 1);
  let changed = false;
  let found = false;
  for (const doc of docs) {
    for (const record of recordsIn(doc)) {
      if (isRecord(record) && Object.keys(record).some(isWritable)) found = true;
      if (learnRecord(catalogue, record, 'pasted')) changed = true;
    }
    if (learnDefinitions(catalogue, doc)) changed = found = true;
  }
  return { changed, found };
}

/**
 * Learns from a CRM answer kept on a delivery's row (at most 8 KiB of it, so possibly cut short): parsed whole when it
 * parses, else its field keys and `{"id": …, "name": …}` options read from the text.
 */
export function learnAnswerText(catalogue: Catalogue, text: string): boolean {
  try {
    const doc = parseJsonLossless(text);
    return recordsIn(doc)
      .map((r) => learnRecord(catalogue, r, 'learned'))
      .some(Boolean);
  } catch {}
  let changed = false;
  for (const m of text.matchAll(/"([a-z]+_\d{6,}|source|tags)"\s*:\s*(\{[^{}]*\}|\[[^[\]]*\]|"[^"]*"|null|\d+)/g)) {
    let value: unknown = null;
    try {
      value = parseJsonLossless(m[2]!);
    } catch {}
    if (learnRecord(catalogue, { [m[1]!]: value }, 'learned')) changed = true;
  }
  return changed;
}

/**
 * The key of a field as typed in the editor: its key, a name the console gives one of the CRM's own (`aliases`), or the
 * label of exactly one field.
 */
export function fieldKeyOf(catalogue: Catalogue, typed: string, aliases: Record<string, string> = {}): string | null {
  if (Object.hasOwn(catalogue.fields, typed)) return typed;
  if (Object.hasOwn(aliases, typed)) return aliases[typed]!;
  const byLabel = Object.entries(catalogue.fields).filter(([, f]) => f.label && f.label === typed);
  if (byLabel.length === 1) return byLabel[0]![0];
  // a key-like name stays as typed (the schema names an unsafe one: __proto__ and the like)
  return FIELD_KEY.test(typed) ? typed : null;
}

/** An option as typed in a value map: its id, or the label of exactly one option of the field. */
export function optionIdOf(catalogue: Catalogue, key: string, typed: string): { ok: true; id: string } | { ok: false } {
  const options = catalogue.fields[key]?.options;
  if (!options || Object.keys(options).length === 0) return { ok: true, id: typed };
  // an id is taken as given, known or not (the catalogue may not have learned every option yet)
  if (Object.hasOwn(options, typed) || /^\d{15,30}$/.test(typed)) return { ok: true, id: typed };
  const byLabel = Object.entries(options).filter(([, label]) => label === typed);
  return byLabel.length === 1 ? { ok: true, id: byLabel[0]![0] } : { ok: false };
}

/** The label an option id is known by, or the id itself. */
export function optionLabelOf(catalogue: Catalogue, key: string, id: string): string {
  const options = catalogue.fields[key]?.options;
  const label = options && Object.hasOwn(options, id) ? options[id] : '';
  // a label two options share would be ambiguous when read back: the id stays
  return label && Object.values(options!).filter((l) => l === label).length === 1 ? label : id;
}

/** The product lines 连接 CRM last listed (id ↔ name, at most PRODUCT_LINES_MAX): the editor offers them by name. */
const PRODUCT_LINES_KEY = 'v1:crm-product-lines';
const PRODUCT_LINES_MAX = 500;
export type KnownProductLine = { id: string; name: string };

export async function rememberProductLines(kv: KVNamespace, lines: KnownProductLine[]): Promise<void> {
  if (lines.length === 0) return;
  const known = new Map((await knownProductLines(kv)).map((l) => [l.id, l.name]));
  const before = JSON.stringify([...known]);
  for (const l of lines) known.set(l.id, cut(l.name));
  const after = [...known].slice(-PRODUCT_LINES_MAX);
  if (JSON.stringify(after) !== before)
    await kv.put(PRODUCT_LINES_KEY, JSON.stringify(after.map(([id, name]) => ({ id, name })))).catch(() => undefined);
}

export async function knownProductLines(kv: KVNamespace): Promise<KnownProductLine[]> {
  const stored = await kv.get<unknown>(PRODUCT_LINES_KEY, 'json');
  if (!Array.isArray(stored)) return [];
  return stored.filter(
    (l): l is KnownProductLine => isRecord(l) && typeof l.id === 'string' && typeof l.name === 'string',
  );
}
