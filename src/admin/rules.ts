/**
 * What each admin route needs and what it records (the console's list is src/console/rules.ts): GETs are reads for
 * every role; a route that changes something and is not listed needs `admin`. test/team.test.ts walks every route in
 * the OpenAPI document against every role.
 */
import type { ActionRule } from '../team/guard';

const id = '([^/]+)';
export const ADMIN_RULES: ActionRule[] = [
  { method: 'POST', path: new RegExp(`^/admin/endpoints/${id}/preview$`), role: 'viewer', action: null },
  { method: 'POST', path: /^\/admin\/preview$/, role: 'viewer', action: null },
  { method: 'POST', path: new RegExp(`^/admin/deliveries/${id}/preview$`), role: 'viewer', action: null },
  {
    method: 'PUT',
    path: new RegExp(`^/admin/endpoints/${id}$`),
    role: 'admin',
    action: 'endpoint.saved',
    target: 'endpoint',
  },
  {
    method: 'DELETE',
    path: new RegExp(`^/admin/endpoints/${id}$`),
    role: 'admin',
    action: 'endpoint.deleted',
    target: 'endpoint',
  },
  {
    method: 'POST',
    path: new RegExp(`^/admin/endpoints/${id}/versions/\\d+/restore$`),
    role: 'admin',
    action: 'endpoint.restored',
    target: 'endpoint',
  },
  { method: 'PUT', path: new RegExp(`^/admin/secrets/${id}$`), role: 'admin', action: 'secret.set', target: 'secret' },
  {
    method: 'DELETE',
    path: new RegExp(`^/admin/secrets/${id}$`),
    role: 'admin',
    action: 'secret.deleted',
    target: 'secret',
  },
  { method: 'PUT', path: new RegExp(`^/admin/people/${id}$`), role: 'admin', action: 'role.set', target: 'person' },
  {
    method: 'DELETE',
    path: new RegExp(`^/admin/people/${id}$`),
    role: 'admin',
    action: 'role.removed',
    target: 'person',
  },
  { method: 'POST', path: /^\/admin\/customer-keys$/, role: 'operator', action: 'keys.imported', target: 'module' },
  { method: 'DELETE', path: /^\/admin\/customer-keys$/, role: 'operator', action: 'keys.deleted', target: 'module' },
  { method: 'POST', path: /^\/admin\/deliveries\/replay$/, role: 'operator', action: 'deliveries.replayed' },
  {
    method: 'POST',
    path: new RegExp(`^/admin/deliveries/${id}/replay$`),
    role: 'operator',
    action: 'delivery.replayed',
    target: 'delivery',
  },
  {
    method: 'POST',
    path: new RegExp(`^/admin/deliveries/${id}/accept$`),
    role: 'operator',
    action: 'delivery.accepted',
    target: 'delivery',
  },
  {
    method: 'POST',
    path: new RegExp(`^/admin/deliveries/${id}/create-answer$`),
    role: 'operator',
    action: 'delivery.create-answered',
    target: 'delivery',
  },
  { method: 'POST', path: /^\/admin\/crm\/resume$/, role: 'operator', action: 'crm.resumed', target: 'crm' },
  {
    method: 'POST',
    path: new RegExp(`^/admin/problems/${id}/acknowledge$`),
    role: 'operator',
    action: 'problem.acknowledged',
    target: 'problem',
  },
  {
    method: 'POST',
    path: new RegExp(`^/admin/problems/${id}/resolve$`),
    role: 'operator',
    action: 'problem.resolved',
    target: 'problem',
  },
];
