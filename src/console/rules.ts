/**
 * What each console form needs and what it records: the role (viewer < operator < admin) and the audit action, one
 * line per POST route (./paths.ts). A POST not listed needs `admin` (src/team/guard.ts); pages (GET) are for everyone
 * signed in. test/team.test.ts walks every POST route against every role.
 */
import type { Role } from '../shared/roles';
import type { ActionRule } from '../team/guard';
import { CONSOLE_BASE, ROUTES, type RouteName } from './paths';

type Rule = { role: Role; action: string | null; target?: string };

export const CONSOLE_ACTIONS: Partial<Record<RouteName, Rule>> = {
  signOut: { role: 'viewer', action: null },
  newEndpointPreview: { role: 'viewer', action: null },
  endpointPreview: { role: 'viewer', action: null },
  endpointTest: { role: 'viewer', action: null },
  deliveryReplay: { role: 'operator', action: 'delivery.replayed', target: 'delivery' },
  deliveryAccept: { role: 'operator', action: 'delivery.accepted', target: 'delivery' },
  deliveryCreated: { role: 'operator', action: 'delivery.create-answered', target: 'delivery' },
  deliveryCreate: { role: 'operator', action: 'delivery.create-answered', target: 'delivery' },
  bulkReplay: { role: 'operator', action: 'deliveries.replayed' },
  customerKeysImport: { role: 'operator', action: 'keys.imported', target: 'module' },
  problemAcknowledge: { role: 'operator', action: 'problem.acknowledged', target: 'problem' },
  problemResolve: { role: 'operator', action: 'problem.resolved', target: 'problem' },
  crmResume: { role: 'operator', action: 'crm.resumed', target: 'crm' },
  endpoints: { role: 'admin', action: 'endpoint.saved', target: 'endpoint' },
  endpoint: { role: 'admin', action: 'endpoint.saved', target: 'endpoint' },
  endpointSecret: { role: 'admin', action: 'secret.set', target: 'endpoint' },
  endpointRestore: { role: 'admin', action: 'endpoint.restored', target: 'endpoint' },
  catalogueField: { role: 'admin', action: 'catalogue.field-set', target: 'module' },
  catalogueRemove: { role: 'admin', action: 'catalogue.field-removed', target: 'module' },
  cataloguePaste: { role: 'admin', action: 'catalogue.pasted', target: 'module' },
  teamSet: { role: 'admin', action: 'role.set', target: 'person' },
  teamRemove: { role: 'admin', action: 'role.removed', target: 'person' },
};

const pattern = (route: string) => new RegExp(`^${CONSOLE_BASE}${route.replace(/:[a-z]+/g, '([^/]+)')}$`);

export const CONSOLE_RULES: ActionRule[] = Object.entries(CONSOLE_ACTIONS).map(([name, rule]) => ({
  method: 'POST',
  path: pattern(ROUTES[name as RouteName]),
  role: rule!.role,
  action: rule!.action,
  target: rule!.target,
}));
