/**
 * Whether the CRM's calls are paused, for the admin API (`GET /admin/crm`) and the console's overview: the gates this
 * deployment has (one for the CRM, or one per product line the endpoints use with CRM_LIMIT_SCOPE=product-line).
 */
import {
  type Coordination,
  type CoordinationEnv,
  coordinationOf,
  type GateStatus,
  gateStatus,
  resumeGate,
} from '../coordination';
import { listEndpointSummaries } from '../endpoints/store';

export type CrmGate = GateStatus & { productLineId: string | null };

/** What the gates are read from: the endpoints (their product lines) and the coordination's own configuration. */
type GatesEnv = Pick<Env, 'ENDPOINTS'> & CoordinationEnv;

async function productLines(
  endpoints: KVNamespace,
  c: Coordination,
  asked: string | undefined,
): Promise<(string | null)[]> {
  if (c.scope === 'crm') return [null];
  if (asked) return [asked];
  return [...new Set((await listEndpointSummaries(endpoints)).map((e) => e.productLineId))];
}

/** Every gate's state (`productLine`: only that product line's, when limits are per product line). */
export async function crmGates(
  env: GatesEnv,
  productLine?: string,
): Promise<{ scope: Coordination['scope']; gates: CrmGate[] }> {
  const coordination = coordinationOf(env);
  const lines = await productLines(env.ENDPOINTS, coordination, productLine);
  const gates = await Promise.all(
    lines.map(async (productLineId) => ({ productLineId, ...(await gateStatus(coordination, productLineId ?? '')) })),
  );
  return { scope: coordination.scope, gates };
}

/** Ends every pause now (or one product line's): the next call probes the CRM. Returns how many gates. */
export async function resumeCrm(env: GatesEnv, productLine?: string): Promise<number> {
  const coordination = coordinationOf(env);
  const lines = await productLines(env.ENDPOINTS, coordination, productLine);
  await Promise.all(lines.map((productLineId) => resumeGate(coordination, productLineId ?? '')));
  return lines.length;
}
