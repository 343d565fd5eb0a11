/**
 * Updating safely: what to send given the customer's current record (`POST /api/crm/client/detail`).
 * - `patch`: only the mapped fields (no read needed unless a field says `overwrite: false`, or
 *   `keepOwner` / `skipUnchanged` is on).
 * - `fill-empty`: leaves out every mapped field that already has a value (`overwrite: true` forces one).
 * - `merge`: the current record's editable fields, references turned back into ids, with the mapped
 *   fields laid over them, as the CRM's own web app sends the whole form.
 * `keepOwner` re-sends the current `own_id`, so an update never hands the customer to the API user.
 */
import * as z from '../shared/zod';

export const UpdateConfig = z._default(
  z.strictObject({
    mode: z._default(z.enum(['patch', 'fill-empty', 'merge']), 'patch'),
    /** Re-send the current owner (default: on under fill-empty and merge). */
    keepOwner: z.optional(z.boolean()),
    /** No update call when every mapped value equals the current one (row `unchanged`). */
    skipUnchanged: z._default(z.boolean(), false),
  }),
  { mode: 'patch', skipUnchanged: false },
);
export type UpdateConfig = z.infer<typeof UpdateConfig>;

export function keepsOwner(config: UpdateConfig): boolean {
  return config.keepOwner ?? config.mode !== 'patch';
}

/** Whether the update needs the current record first. */
export function needsCurrent(config: UpdateConfig, overwrites: ReadonlyMap<string, boolean>): boolean {
  return (
    config.mode !== 'patch' ||
    keepsOwner(config) ||
    config.skipUnchanged ||
    [...overwrites.values()].some((o) => o === false)
  );
}

/**
 * Fields of a record a user edits (and `merge` re-sends): built-in ones and the installation's `<type>_<timestamp>`
 * fields.
 */
const EDITABLE = /^(name|phone|note|source|tags|own_id|[a-z]+_\d{6,})$/;

/** A value as compared and re-sent: a reference object by its id; `[]`, `null` and `""` are empty. */
export function normaliseValue(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return null;
  if (Array.isArray(value)) {
    const items = value.map(normaliseValue).filter((v) => v !== null);
    return items.length === 0 ? null : items;
  }
  if (typeof value === 'object') {
    const id = (value as Record<string, unknown>).id;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value;
}

export function isEmptyValue(value: unknown): boolean {
  return normaliseValue(value) === null;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(normaliseValue(a)) === JSON.stringify(normaliseValue(b));
}

export type Plan = { kind: 'send'; body: Record<string, unknown>; skipped: string[] } | { kind: 'unchanged' };

/**
 * The update body for a mapped webhook, given the current record (or null when none was read).
 * `fields` excludes `mid` and `id`, which the caller adds.
 */
export function planUpdate(
  config: UpdateConfig,
  fields: Record<string, unknown>,
  overwrites: ReadonlyMap<string, boolean>,
  current: Record<string, unknown> | null,
): Plan {
  const skipped: string[] = [];
  const body: Record<string, unknown> = {};
  if (current && config.mode === 'merge') {
    for (const [name, value] of Object.entries(current)) {
      if (!EDITABLE.test(name)) continue;
      const v = normaliseValue(value);
      if (v !== null && typeof v !== 'object') body[name] = v;
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) body[name] = v;
    }
  }
  for (const [name, value] of Object.entries(fields)) {
    const overwrite = overwrites.get(name) ?? config.mode !== 'fill-empty';
    // a value already there stays (under merge it is in the body already)
    if (current && !overwrite && !isEmptyValue(current[name])) {
      skipped.push(name);
      continue;
    }
    body[name] = value;
  }
  if (current && keepsOwner(config) && !('own_id' in fields)) {
    const owner = normaliseValue(current.own_id);
    if (typeof owner === 'string') body.own_id = owner;
    else delete body.own_id;
  }
  const sent = Object.keys(fields).filter((n) => !skipped.includes(n));
  // Nothing to send is no call at all: an empty update does nothing, or blanks fields on a CRM that replaces.
  if (sent.length === 0) return { kind: 'unchanged' };
  if (current && config.skipUnchanged && sent.every((n) => sameValue(fields[n], current[n])))
    return { kind: 'unchanged' };
  return { kind: 'send', body, skipped };
}
