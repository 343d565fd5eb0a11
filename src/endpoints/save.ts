import { secretResolver } from '../secrets/resolver';
import { isRecord } from '../shared/json';
import { compileMapping, type CompiledMapping } from '../mapping/compile';
import {
  EndpointConfig,
  endpointSecretNames,
  formatIssues,
  OBJECT_NAME_MESSAGE,
  OBJECT_NAMES,
  type StoredEndpoint,
} from './schema';
import { addVersion } from './versions';
import { putEndpoint } from './store';
import { trialRun } from '../mapping/map';
import { sentences } from '../shared/text';

export type Issue = { path: string; message: string };
export type Checked = { ok: true; config: EndpointConfig; mapping: CompiledMapping } | { ok: false; issues: Issue[] };

/**
 * Validates a configuration as a user wrote it (preset applied) and compiles its expressions: every problem with its
 * path.
 */
export function checkConfig(raw: unknown): Checked {
  // a field named like an object's own property would vanish in parsing (`__proto__`) or be refused without a word
  const objectNamed = objectNamedFields(raw);
  if (objectNamed.length > 0)
    return { ok: false, issues: objectNamed.map((name) => ({ path: `fields.${name}`, message: OBJECT_NAME_MESSAGE })) };
  const parsed = EndpointConfig.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: formatIssues(parsed.error) };
  // a broken expression is refused now, not discovered when a lead arrives
  const compiled = compileMapping(parsed.data);
  if (!compiled.ok) return { ok: false, issues: compiled.issues };
  return { ok: true, config: parsed.data, mapping: compiled.mapping };
}

/**
 * The field names of a raw configuration that JavaScript objects give a meaning to (own keys, as JSON.parse makes
 * them).
 */
function objectNamedFields(raw: unknown): string[] {
  const fields = isRecord(raw) ? raw.fields : undefined;
  return isRecord(fields) ? [...OBJECT_NAMES].filter((name) => Object.hasOwn(fields, name)) : [];
}

/** Warnings a valid configuration still deserves. */
/**
 * `heldElsewhere`: secrets the webhook Worker holds as its own (the console cannot see them: src/secrets/handoff.ts).
 */
export async function warningsFor(
  config: EndpointConfig,
  env: Env,
  heldElsewhere: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const warnings: string[] = [];
  if (config.verify.type === 'none')
    warnings.push('verify.type is "none": anyone who knows the URL can update any customer');
  const resolve = secretResolver(env);
  for (const name of endpointSecretNames(config)) {
    if (heldElsewhere.has(name)) continue;
    let value: unknown;
    try {
      value = await resolve(name);
    } catch (err) {
      warnings.push(`secret ${name} cannot be read: ${(err as Error).message}`);
      continue;
    }
    if (value === undefined)
      warnings.push(
        sentences(
          `secret ${name} is not set yet:`,
          `webhooks are refused until it is (wrangler secret put ${name}, or PUT /admin/secrets/${name})`,
        ),
      );
  }
  if (config.rateLimit && !env.HOOK_RATE_LIMITER)
    warnings.push(
      'rateLimit is on but the HOOK_RATE_LIMITER binding is missing from wrangler.toml: nothing is limited',
    );
  return warnings;
}

export type Saved =
  | { ok: true; endpoint: StoredEndpoint; created: boolean; warnings: string[]; version: number }
  | { ok: false; issues: Issue[] };

/**
 * Checks and stores an endpoint's configuration (the admin API's PUT, the console's editor, a restore), and keeps it
 * as the endpoint's next numbered version, saved `by` someone (./versions.ts).
 */
export async function saveEndpoint(
  env: Env,
  id: string,
  raw: unknown,
  by = 'admin',
  restoredFrom: number | null = null,
): Promise<Saved> {
  const checked = checkConfig(raw);
  if (!checked.ok) return checked;
  // every expression runs once on an empty payload under the budget: one that never ends is refused here
  const overBudget = await trialRun(checked.mapping);
  if (overBudget.length > 0) return { ok: false, issues: overBudget };
  const existed = (await env.ENDPOINTS.get(`v1:endpoint:${id}`)) !== null;
  const endpoint = await putEndpoint(env.ENDPOINTS, id, checked.config);
  const version = await addVersion(env.DB, id, checked.config, by, Date.now(), restoredFrom);
  return { ok: true, endpoint, created: !existed, warnings: await warningsFor(checked.config, env), version };
}
