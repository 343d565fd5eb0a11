/**
 * The CRM's custom field names (`select_1700000000`, `input_…`) that people typed into the mapping editor, with
 * the label they gave each, remembered per CRM module (KV `v1:crm-fields:<moduleId>`) so they are picked next time.
 */
import { isRecord } from '../shared/json';

const key = (moduleId: string) => `v1:crm-fields:${moduleId}`;

/** The CRM's own customer fields, always offered. */
export const BUILT_IN_FIELDS = ['name', 'phone', 'note', 'source', 'tags'] as const;

/** At most this many remembered fields per module, labels of at most LABEL_MAX characters: the page carries them all. */
const FIELDS_MAX = 2000;
const LABEL_MAX = 100;

/** The remembered labels, as an object without a prototype: a field named `constructor` is a key like any other. */
export async function crmFieldLabels(kv: KVNamespace, moduleId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = Object.create(null);
  if (!moduleId) return out;
  const stored = await kv.get<unknown>(key(moduleId), 'json');
  if (!isRecord(stored)) return out;
  for (const [field, label] of Object.entries(stored)) if (typeof label === 'string') out[field] = label;
  return out;
}

/** Adds the fields and labels of a saved mapping to what the module remembers (a label given replaces the old one). */
export async function rememberCrmFields(kv: KVNamespace, moduleId: string, fields: { field: string; label: string }[]): Promise<void> {
  const named = fields.filter((f) => f.field && !(BUILT_IN_FIELDS as readonly string[]).includes(f.field));
  if (!moduleId || named.length === 0) return;
  const known = await crmFieldLabels(kv, moduleId);
  let changed = false;
  for (const f of named) {
    const had = Object.hasOwn(known, f.field);
    if (!had && Object.keys(known).length >= FIELDS_MAX) continue;
    const label = (f.label || (had ? known[f.field] : '') || '').slice(0, LABEL_MAX);
    if (!had || known[f.field] !== label) {
      known[f.field] = label;
      changed = true;
    }
  }
  if (changed) await kv.put(key(moduleId), JSON.stringify(known));
}
