/**
 * The CRM's custom field names (`select_1700000000`, `input_…`) that people typed into the mapping editor, with
 * the label they gave each, remembered per CRM module (KV `v1:crm-fields:<moduleId>`) so they are picked next time.
 */
import { isRecord } from '../shared/json';

const key = (moduleId: string) => `v1:crm-fields:${moduleId}`;

/** The CRM's own customer fields, always offered. */
export const BUILT_IN_FIELDS = ['name', 'phone', 'note', 'source', 'tags'] as const;

export async function crmFieldLabels(kv: KVNamespace, moduleId: string): Promise<Record<string, string>> {
  if (!moduleId) return {};
  const stored = await kv.get<unknown>(key(moduleId), 'json');
  if (!isRecord(stored)) return {};
  return Object.fromEntries(Object.entries(stored).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Adds the fields and labels of a saved mapping to what the module remembers (a label given replaces the old one). */
export async function rememberCrmFields(kv: KVNamespace, moduleId: string, fields: { field: string; label: string }[]): Promise<void> {
  const named = fields.filter((f) => f.field && !(BUILT_IN_FIELDS as readonly string[]).includes(f.field));
  if (!moduleId || named.length === 0) return;
  const known = await crmFieldLabels(kv, moduleId);
  let changed = false;
  for (const f of named) {
    const label = f.label || known[f.field] || '';
    if (known[f.field] !== label || !(f.field in known)) {
      known[f.field] = label;
      changed = true;
    }
  }
  if (changed) await kv.put(key(moduleId), JSON.stringify(known));
}
