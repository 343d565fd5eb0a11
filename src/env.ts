import type { Person } from './shared/roles';

/**
 * Hono's environment for this Worker: the bindings come from `wrangler types` (worker-configuration.d.ts); `person`
 * is who is asking (the console's and the admin API's sign-in), `auditDetail` what a change adds to its audit row.
 */
export type AppEnv = { Bindings: Env; Variables: { person?: Person; auditDetail?: Record<string, unknown> } };
