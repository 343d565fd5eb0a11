import type { CompiledMapping, Expression } from './compile';
import { cnMobile, digits } from './helpers';
import { normaliseKey, type Lookup } from '../customers/keys';
import { isCanonicalId } from '../shared/ids';
import { budgetMessage } from './budget';
import { sentences } from '../shared/text';

/** What the expressions see: the parsed body as `$`, plus `$headers` (lower-case names) and `$query`. */
export type MapInput = {
  body: unknown;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
};

export type MapFailure =
  | { ok: false; reason: 'mapping_failed'; message: string; field: string; warnings: string[] }
  /**
   * `missing`: no id and nothing to look up (the delivery is unmatched); `malformed`: a value that is no id (invalid).
   */
  | { ok: false; reason: 'customer_unresolved'; kind: 'missing' | 'malformed'; message: string; warnings: string[] };

/** `customerId` when the payload names the customer; else `lookups` (normalised keys) to find it with. */
export type MapResult =
  | { ok: true; customerId: string; lookups?: undefined; fields: Record<string, unknown>; warnings: string[] }
  | { ok: true; customerId: null; lookups: Lookup[]; fields: Record<string, unknown>; warnings: string[] }
  | MapFailure;

const helpers = { digits, cnMobile };

/** Plain JSON value of a JSONata result (its sequences are arrays with extra flags). */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** A value that says nothing: it is left out of the CRM body rather than blanking a field. */
export function isNothing(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'string' && value.trim() === '') ||
    (Array.isArray(value) && value.length === 0)
  );
}

// The bindings of one input, built once for all of its expressions.
const bindingsOf = new WeakMap<MapInput, Record<string, unknown>>();

/** An evaluation error in words: a budget overrun named as such, else JSONata's own message. */
const errorText = (err: unknown) => budgetMessage(err) ?? (err as Error).message ?? String(err);

/**
 * Runs every expression of a mapping once against an empty payload, under the budget: an expression that never
 * ends (or explodes) on its own is refused when it is saved, not discovered when a lead arrives.
 */
export async function trialRun(mapping: CompiledMapping): Promise<{ path: string; message: string }[]> {
  const input: MapInput = { body: {}, headers: {}, query: {} };
  const named: [string, Expression | undefined][] = [
    ['customerId', mapping.customerId],
    ...mapping.lookups.map((l, i): [string, Expression] => [`customerLookup.${i}.value`, l.value]),
    ...mapping.fields.map((f): [string, Expression | undefined] => [
      `fields.${f.name}`,
      f.kind === 'constant' ? undefined : f.expression,
    ]),
    ['idempotencyKey', mapping.idempotencyKey],
    ['skipWhen', mapping.skipWhen],
    ['version', mapping.version],
  ];
  const issues: { path: string; message: string }[] = [];
  for (const [path, expression] of named) {
    if (!expression) continue;
    try {
      await evaluate(expression, input);
    } catch (err) {
      const over = budgetMessage(err);
      if (over) issues.push({ path, message: over });
    }
  }
  return issues;
}

async function evaluate(expression: Expression, input: MapInput): Promise<unknown> {
  let bindings = bindingsOf.get(input);
  if (!bindings) {
    bindings = { ...helpers, headers: input.headers, query: input.query };
    bindingsOf.set(input, bindings);
  }
  const value = expression.evaluate(input.body, bindings);
  return plain(value instanceof Promise ? await value : value);
}

function lookupKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Translates a value (or each of an array's values) through a value map; misses are dropped with a warning. */
function translate(name: string, value: unknown, map: ReadonlyMap<string, unknown>, warnings: string[]): unknown {
  const one = (v: unknown) => {
    const key = lookupKey(v);
    if (key !== undefined && map.has(key)) return map.get(key);
    warnings.push(`fields.${name}: value ${JSON.stringify(v)} is not in the map; field left out`);
    return undefined;
  };
  if (Array.isArray(value)) return value.map(one).filter((v) => v !== undefined);
  return one(value);
}

/**
 * A customer id as the CRM wants it: canonical (see isCanonicalId), from a string or from an integer literal's exact
 * digits (a string may carry spaces around it, as a form field does). Nothing else is coerced: `-0`, `0`, `1E+2`,
 * `012`, 20 digits are no ids (numbers written with an exponent
 * reach here as their source text, receive/json.ts).
 */
function asId(value: unknown): string | undefined {
  if (typeof value === 'string' && isCanonicalId(value.trim())) return value.trim();
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && !Object.is(value, -0))
    return String(value);
  return undefined;
}

/**
 * Maps a parsed payload onto the CRM update's fields with an endpoint's compiled mapping, and names the customer.
 * `explain`: also warn about every field whose expression yielded nothing (the preview wants that; webhooks do not).
 */
export async function mapPayload(
  mapping: CompiledMapping,
  input: MapInput,
  options: { explain?: boolean } = {},
): Promise<MapResult> {
  const warnings: string[] = [];
  const mapped = await mapFields(mapping, input, warnings, options.explain ?? false);
  if (!mapped.ok) return { ...mapped, warnings };
  return mapCustomer(mapping, input, mapped.fields, warnings);
}

type FieldFailure = { ok: false; reason: 'mapping_failed'; field: string; message: string };

/** Every field rule's value; a field that yields nothing is left out (a required one fails the mapping). */
async function mapFields(
  mapping: CompiledMapping,
  input: MapInput,
  warnings: string[],
  explain: boolean,
): Promise<{ ok: true; fields: Record<string, unknown> } | FieldFailure> {
  const fields: Record<string, unknown> = {};
  for (const field of mapping.fields) {
    let value: unknown;
    try {
      if (field.kind === 'constant') value = field.value;
      else value = await evaluate(field.expression, input);
      if (field.kind === 'rule') {
        if (field.map && !isNothing(value)) value = translate(field.name, value, field.map, warnings);
        if (isNothing(value) && field.default !== undefined) value = field.default;
        if (isNothing(value) && field.required)
          return {
            ok: false,
            reason: 'mapping_failed',
            field: field.name,
            message: `required field "${field.name}" has no value`,
          };
      }
    } catch (err) {
      return {
        ok: false,
        reason: 'mapping_failed',
        field: field.name,
        message: `fields.${field.name}: ${errorText(err)}`,
      };
    }
    if (!isNothing(value)) fields[field.name] = value;
    else if (explain && field.kind !== 'constant') warnings.push(`fields.${field.name}: yielded nothing; left out`);
  }
  return { ok: true, fields };
}

/** The customer: the payload's CRM id, else the lookup keys (normalised as they are stored). */
async function mapCustomer(
  mapping: CompiledMapping,
  input: MapInput,
  fields: Record<string, unknown>,
  warnings: string[],
): Promise<MapResult> {
  if (mapping.customerId) {
    let rawId: unknown;
    try {
      rawId = await evaluate(mapping.customerId, input);
    } catch (err) {
      return {
        ok: false,
        reason: 'customer_unresolved',
        kind: 'malformed',
        message: `customerId: ${errorText(err)}`,
        warnings,
      };
    }
    const customerId = asId(rawId);
    if (customerId !== undefined) return { ok: true, customerId, fields, warnings };
    if (!isNothing(rawId)) {
      return {
        ok: false,
        reason: 'customer_unresolved',
        kind: 'malformed',
        message: sentences(
          `customerId expression yielded ${JSON.stringify(rawId).slice(0, 64)},`,
          'not a customer id (a positive decimal of at most 19 digits: no sign, exponent or leading zeros)',
        ),
        warnings,
      };
    }
  }
  if (mapping.lookups.length === 0)
    return {
      ok: false,
      reason: 'customer_unresolved',
      kind: 'missing',
      message: 'customerId expression yielded nothing',
      warnings,
    };
  const lookups: Lookup[] = [];
  for (const lookup of mapping.lookups) {
    let value: unknown;
    try {
      value = await evaluate(lookup.value, input);
    } catch (err) {
      warnings.push(`customerLookup ${lookup.key}: ${errorText(err)}`);
      continue;
    }
    const normal = normaliseKey(lookup.key, Array.isArray(value) ? value[0] : value);
    if (normal !== null) lookups.push({ key: lookup.key, value: normal });
  }
  return { ok: true, customerId: null, lookups, fields, warnings };
}

/**
 * The idempotency key of a payload: the expression's value or the header's; nothing means no dedupe (with a warning).
 */
export async function idempotencyKeyOf(
  mapping: CompiledMapping,
  source: string | { header: string } | undefined,
  input: MapInput,
): Promise<{ value?: string; warning?: string }> {
  if (source === undefined) return {};
  let raw: unknown;
  if (typeof source === 'object') raw = input.headers[source.header];
  else if (mapping.idempotencyKey) {
    try {
      raw = await evaluate(mapping.idempotencyKey, input);
    } catch (err) {
      return { warning: `idempotencyKey: ${errorText(err)}; not deduplicated` };
    }
  }
  const value = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' ? String(raw) : undefined;
  if (!value) return { warning: 'idempotencyKey yielded nothing; not deduplicated' };
  // a key built of parts that are all empty (`form:serial:updated_at` -> "::") would make different leads duplicates
  if (!/[\p{L}\p{N}]/u.test(value))
    return {
      warning: sentences(
        `idempotencyKey yielded "${value.slice(0, 40)}", only separators (its parts are empty);`,
        'not deduplicated',
      ),
    };
  return { value };
}

/**
 * The sender's version of the record (the endpoint's `version`): a number or a string, else null (the adapter's
 * receipt order decides then), with a warning when the expression fails or yields nothing.
 */
export async function versionOf(
  mapping: CompiledMapping,
  input: MapInput,
): Promise<{ value: unknown; warning?: string }> {
  if (!mapping.version) return { value: null };
  try {
    const value = await evaluate(mapping.version, input);
    if (value === undefined || value === null || value === '')
      return { value: null, warning: 'version yielded nothing; receipt order decides' };
    return { value };
  } catch (err) {
    return { value: null, warning: `version: ${errorText(err)}; receipt order decides` };
  }
}

/** Whether the endpoint's `skipWhen` says to leave this webhook alone (an error counts as "no", with a warning). */
export async function shouldSkip(
  mapping: CompiledMapping,
  input: MapInput,
): Promise<{ skip: boolean; warning?: string }> {
  if (!mapping.skipWhen) return { skip: false };
  try {
    const value = await evaluate(mapping.skipWhen, input);
    return { skip: value === true };
  } catch (err) {
    return { skip: false, warning: `skipWhen: ${errorText(err)}; delivered` };
  }
}

/**
 * Who a lead is, for lists: the `name` and `phone` fields as the mapping yields them (text; a miss or an error is
 * null).
 */
export async function leadOf(
  mapping: CompiledMapping,
  input: MapInput,
): Promise<{ name: string | null; phone: string | null }> {
  const lead = { name: null as string | null, phone: null as string | null };
  for (const field of mapping.fields) {
    if (field.name !== 'name' && field.name !== 'phone') continue;
    try {
      const value = field.kind === 'constant' ? field.value : await evaluate(field.expression, input);
      if (!isNothing(value)) lead[field.name] = String(value).slice(0, 80);
    } catch {
      // a list shows what it can: the delivery's own page says why the mapping failed
    }
  }
  return lead;
}
