/** Who a delivery's lead is, read in the console from the stored (masked) payload through the endpoint's mapping. */
import type { StoredPayload } from '../deliveries/store';
import type { EndpointConfig } from '../endpoints/schema';
import { getEndpoint } from '../endpoints/store';
import { compileMapping, type CompiledMapping } from '../mapping/compile';
import { leadOf } from '../mapping/map';
import { viewOf } from '../presets';
import { parseBody } from '../receive/body';

export type Lead = { name: string | null; phone: string | null };

/**
 * Who each listed delivery's lead is: the endpoint's `name` and `phone` mapping over the *stored* payload, which is
 * masked as the endpoint's `redact` says (never the real body kept for replays). The console's delivery list and page
 * use it.
 */
export async function leadsOf(kv: KVNamespace, rows: StoredPayload[]): Promise<Map<string, Lead>> {
  const leads = new Map<string, Lead>();
  const mappings = new Map<string, { config: EndpointConfig; mapping: CompiledMapping } | null>();
  for (const row of rows) {
    if (!row.payload || row.payload.startsWith('[')) continue;
    if (!mappings.has(row.endpointId)) {
      const endpoint = await getEndpoint(kv, row.endpointId);
      const compiled = endpoint ? compileMapping(endpoint.config) : null;
      mappings.set(
        row.endpointId,
        endpoint && compiled?.ok ? { config: endpoint.config, mapping: compiled.mapping } : null,
      );
    }
    const m = mappings.get(row.endpointId);
    if (!m) continue;
    // a masked payload is stored as JSON whatever arrived; otherwise it is the body as it came
    const masked = row.payload.startsWith('{');
    // the text is what is stored: handed over as decoded (only a multipart body reads the bytes)
    const parsed = await parseBody(
      new TextEncoder().encode(row.payload),
      masked ? 'application/json' : row.contentType,
      row.payload,
    );
    if (!parsed.ok) continue;
    const lead = await leadOf(m.mapping, { body: viewOf(m.config.preset, parsed.value), headers: {}, query: {} });
    if (lead.name || lead.phone) leads.set(row.id, lead);
  }
  return leads;
}
