/**
 * The mapping editor's form, as plain data: an endpoint's configuration document read into form state (when the form
 * can show all of its mapping) and the form's fields written back over that same document. Keys the form does not
 * show (redact, delivery, response, …) are kept from the document, so a configuration saved from the form and one
 * saved as JSON are the same document.
 */
import { fieldKeyOf, optionIdOf, optionLabelOf, type Catalogue } from '../endpoints/catalogue';
import { MAX_FIELD_RULES } from '../endpoints/schema';
import { isRecord } from '../shared/json';

export const UPDATE_MODES = ['patch', 'fill-empty', 'merge'] as const;
export type UpdateMode = (typeof UPDATE_MODES)[number];

/** One `CRM field ← source` row. `keep` is "don't overwrite" (`overwrite: false`). */
export type Row = {
  field: string;
  label: string;
  kind: 'field' | 'constant' | 'map';
  from: string;
  value: string;
  map: string;
  required: boolean;
  keep: boolean;
};

export type FormState = {
  preset: string;
  name: string;
  moduleId: string;
  productLineId: string;
  /** verify.secret: the name the token or signing secret is stored under. */
  secret: string;
  /** A payload path, or '' for none (then the lookup key finds the customer). */
  customerId: string;
  lookupKey: string;
  lookupFrom: string;
  updateMode: UpdateMode;
  /** onUnmatched: keep a lead nobody matches, or create the customer. */
  onUnmatched: 'keep' | 'create';
  rows: Row[];
};

export const EMPTY_ROW: Row = {
  field: '',
  label: '',
  kind: 'field',
  from: '',
  value: '',
  map: '',
  required: false,
  keep: false,
};

// A JSONata path the form can pick: names (letters, digits, _ or CJK) or `quoted names`, joined by dots.
const SEGMENT = '(?:[A-Za-z_\\u3400-\\u9fff][\\w\\u3400-\\u9fff]*|`[^`]+`)';
const PATH = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})*$`);
export const isPath = (s: unknown): s is string => typeof s === 'string' && PATH.test(s);

/** A sample key as a path segment: quoted when it is not a plain name. */
export const segment = (key: string) =>
  new RegExp(`^${SEGMENT}$`).test(key) && !key.startsWith('`') ? key : `\`${key.replace(/`/g, '')}\``;

const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** One field rule as a row, or null when the form cannot show it (an expression, a default, a list value …). */
function rowOf(field: string, rule: unknown, catalogue: Catalogue): Row | null {
  const base = {
    ...EMPTY_ROW,
    field,
    label: Object.hasOwn(catalogue.fields, field) ? catalogue.fields[field]!.label : '',
  };
  if (isPath(rule)) return { ...base, from: rule };
  if (!isRecord(rule)) return null;
  const keep = rule.overwrite === false;
  if ('value' in rule) {
    if (!isScalar(rule.value) || Object.keys(rule).some((k) => k !== 'value' && k !== 'overwrite')) return null;
    return { ...base, kind: 'constant', value: optionLabelOf(catalogue, field, String(rule.value)), keep };
  }
  if (!isPath(rule.from) || 'default' in rule) return null;
  if (rule.map !== undefined && !(isRecord(rule.map) && Object.values(rule.map).every(isScalar))) return null;
  const map = rule.map
    ? Object.entries(rule.map)
        .map(([k, v]) => `${k} = ${optionLabelOf(catalogue, field, String(v))}`)
        .join('\n')
    : '';
  return { ...base, kind: rule.map ? 'map' : 'field', from: rule.from, map, required: rule.required === true, keep };
}

/** The form for a configuration document, or why it opens in JSON instead. */
export function toForm(doc: unknown, catalogue: Catalogue): { ok: true; state: FormState } | { ok: false } {
  if (!isRecord(doc)) return { ok: false };
  const crm = isRecord(doc.crm) ? doc.crm : {};
  const verify = isRecord(doc.verify) ? doc.verify : {};
  const update = isRecord(doc.update) ? doc.update : {};
  const lookups = Array.isArray(doc.customerLookup) ? doc.customerLookup : [];
  if (doc.customerId !== undefined && !isPath(doc.customerId)) return { ok: false };
  if (lookups.length > 1 || (lookups[0] !== undefined && !(isRecord(lookups[0]) && isPath(lookups[0].value))))
    return { ok: false };
  const rows: Row[] = [];
  for (const [field, rule] of Object.entries(isRecord(doc.fields) ? doc.fields : {})) {
    const row = rowOf(field, rule, catalogue);
    if (!row) return { ok: false };
    rows.push(row);
  }
  const lookup = lookups[0] as { key?: unknown; value?: unknown } | undefined;
  return {
    ok: true,
    state: {
      preset: typeof doc.preset === 'string' ? doc.preset : '',
      name: String(doc.name ?? ''),
      moduleId: String(crm.moduleId ?? ''),
      productLineId: String(crm.productLineId ?? ''),
      secret: typeof verify.secret === 'string' ? verify.secret : '',
      customerId: (doc.customerId as string | undefined) ?? '',
      lookupKey: typeof lookup?.key === 'string' ? lookup.key : '',
      lookupFrom: typeof lookup?.value === 'string' ? lookup.value : '',
      updateMode: (UPDATE_MODES as readonly unknown[]).includes(update.mode) ? (update.mode as UpdateMode) : 'patch',
      onUnmatched: doc.onUnmatched === 'create' ? 'create' : 'keep',
      rows,
    },
  };
}

/** `sample value = CRM option id` lines as a map (the first `=`, `＝` or `→` splits; blank lines are skipped). */
export function parseMapLines(text: string): Record<string, string> {
  // no prototype: a sample value such as "__proto__" is a key like any other
  const map: Record<string, string> = Object.create(null);
  for (const line of text.split(/\r?\n/)) {
    const at = line.search(/[=＝→]/);
    if (at < 0) continue;
    const [k, v] = [line.slice(0, at).trim(), line.slice(at + 1).trim()];
    if (k) map[k] = v;
  }
  return map;
}

export type FormIssue = { path: string; problem: 'unknown_field' | 'unknown_option'; field: string; value: string };

/**
 * The form with the names a marketer typed turned into the CRM's ids: a field given by its label becomes its key, an
 * option in a value map given by its label becomes its id (the catalogue knows both). What it cannot name is an issue.
 */
export function resolveForm(
  state: FormState,
  catalogue: Catalogue,
  aliases: Record<string, string> = {},
): { state: FormState; issues: FormIssue[] } {
  const issues: FormIssue[] = [];
  const rows = state.rows.map((row, i) => {
    if (!row.field) return row;
    const field = fieldKeyOf(catalogue, row.field, aliases);
    if (!field) {
      issues.push({ path: `row.${i}.field`, problem: 'unknown_field', field: row.field, value: row.field });
      return row;
    }
    if (row.kind === 'constant') {
      // a select's constant value may be given by its option's name too
      const option = optionIdOf(catalogue, field, row.value);
      if (option.ok) return { ...row, field, value: option.id };
      issues.push({
        path: `row.${i}.value`,
        problem: 'unknown_option',
        field: catalogue.fields[field]?.label || field,
        value: row.value,
      });
      return { ...row, field };
    }
    if (row.kind !== 'map') return { ...row, field };
    const lines = Object.entries(parseMapLines(row.map)).map(([sample, typed]) => {
      const option = optionIdOf(catalogue, field, typed);
      if (option.ok) return `${sample} = ${option.id}`;
      issues.push({
        path: `row.${i}.map`,
        problem: 'unknown_option',
        field: catalogue.fields[field]?.label || field,
        value: typed,
      });
      return `${sample} = ${typed}`;
    });
    return { ...row, field, map: lines.join('\n') };
  });
  return { state: { ...state, rows }, issues };
}

/** A row as the field rule it stands for. */
function ruleOf(row: Row): unknown {
  const flags = { ...(row.required ? { required: true } : {}), ...(row.keep ? { overwrite: false } : {}) };
  if (row.kind === 'constant') return { value: row.value, ...(row.keep ? { overwrite: false } : {}) };
  if (row.kind === 'map') return { from: row.from, map: parseMapLines(row.map), ...flags };
  return Object.keys(flags).length ? { from: row.from, ...flags } : row.from;
}

/** The document with the form's values laid over it (the keys the form does not show are kept as they are). */
export function fromForm(state: FormState, doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...doc };
  const set = (key: string, value: unknown) => {
    if (value === undefined || value === '') delete out[key];
    else out[key] = value;
  };
  set('preset', state.preset);
  set('name', state.name);
  out.crm = { ...(isRecord(doc.crm) ? doc.crm : {}), moduleId: state.moduleId, productLineId: state.productLineId };
  // a preset supplies its verification scheme: the form names the secret only (objects merge with the preset's)
  const verify: Record<string, unknown> = isRecord(doc.verify)
    ? { ...doc.verify }
    : state.preset
      ? {}
      : { type: 'token', query: 'token' };
  if (state.secret) verify.secret = state.secret;
  set('verify', Object.keys(verify).length ? verify : undefined);
  set('customerId', state.customerId);
  set(
    'customerLookup',
    state.lookupKey && state.lookupFrom ? [{ key: state.lookupKey, value: state.lookupFrom }] : undefined,
  );
  out.update = { ...(isRecord(doc.update) ? doc.update : {}), mode: state.updateMode };
  set('onUnmatched', state.onUnmatched === 'create' ? 'create' : undefined);
  // no prototype: a field named like an object's own property stays a key (the schema then names the problem)
  const fields: Record<string, unknown> = Object.create(null);
  for (const row of state.rows) if (row.field && (row.kind === 'constant' || row.from)) fields[row.field] = ruleOf(row);
  out.fields = fields;
  return out;
}

/** The form's fields (`row.3.from`, …) as form state; the row count is the highest index given, plus one. */
export function readForm(body: Record<string, string | File | (string | File)[]>): FormState {
  const text = (name: string) => {
    const v = body[name];
    return typeof v === 'string' ? v.trim() : '';
  };
  const rows: Row[] = [];
  // one past the limit is read, so that too many rules are refused with the limit named, never cut silently
  for (let i = 0; i <= MAX_FIELD_RULES && (`row.${i}.field` in body || `row.${i}.kind` in body); i++) {
    const kind = text(`row.${i}.kind`);
    rows.push({
      field: text(`row.${i}.field`),
      label: text(`row.${i}.label`),
      kind: kind === 'constant' || kind === 'map' ? kind : 'field',
      from: text(`row.${i}.from`),
      value: text(`row.${i}.value`),
      map: typeof body[`row.${i}.map`] === 'string' ? (body[`row.${i}.map`] as string) : '',
      required: `row.${i}.required` in body,
      keep: `row.${i}.keep` in body,
    });
  }
  const mode = text('updateMode');
  return {
    preset: text('preset'),
    name: text('name'),
    moduleId: text('moduleId'),
    productLineId: text('productLineId'),
    secret: text('secret'),
    customerId: text('customerId'),
    lookupKey: text('lookupKey'),
    lookupFrom: text('lookupFrom'),
    updateMode: (UPDATE_MODES as readonly string[]).includes(mode) ? (mode as UpdateMode) : 'patch',
    onUnmatched: text('onUnmatched') === 'create' ? 'create' : 'keep',
    rows: rows.filter((r) => r.field || r.from || r.value || r.map.trim()),
  };
}

/** A sample's fields as the mapping sees them: each leaf's path and a short text of its value (at most 200). */
export function sampleFields(view: unknown): { path: string; value: string }[] {
  const out: { path: string; value: string }[] = [];
  const walk = (value: unknown, prefix: string, depth: number) => {
    if (out.length >= 200) return;
    if (isRecord(value) && depth < 4) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${segment(k)}` : segment(k), depth + 1);
      return;
    }
    if (!prefix) return;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    out.push({ path: prefix, value: (text ?? '').slice(0, 60) });
  };
  walk(view, '', 0);
  return out;
}
