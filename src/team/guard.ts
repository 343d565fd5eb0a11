/**
 * One step for every change, in the console and the admin API alike: the role a route needs is checked before it
 * runs, and a change that succeeded is one audit row after it (who, what, the endpoint or delivery it touched).
 * Each entry point lists its routes once (`ActionRule[]`); a route not listed that changes something needs `admin`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { allows, type Person, type Role } from '../shared/roles';
import { recordAudit } from './audit';

export type ActionRule = { method: string; path: RegExp; role: Role; action: string | null; target?: string };

/** The rule for a request: the first that matches; a GET or HEAD not listed is a read (viewer, not audited). */
export function ruleFor(rules: ActionRule[], method: string, path: string): ActionRule {
  const found = rules.find((r) => r.method === method && r.path.test(path));
  if (found) return found;
  if (method === 'GET' || method === 'HEAD') return { method, path: /.*/, role: 'viewer', action: null };
  return { method, path: /.*/, role: 'admin', action: `${method.toLowerCase()} ${path}` };
}

/** The target a rule names: the first group of its path pattern, decoded. */
const targetOf = (rule: ActionRule, path: string) => {
  const m = rule.path.exec(path);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
};

export function guard(
  rules: ActionRule[],
  personOf: (c: Context) => Person | undefined,
  refuse: (c: Context, needed: Role, person: Person) => Response | Promise<Response>,
): MiddlewareHandler {
  return async (c, next) => {
    const person = personOf(c);
    if (!person) return next();
    const path = new URL(c.req.url).pathname;
    const rule = ruleFor(rules, c.req.method, path);
    if (!allows(person.role, rule.role)) return refuse(c, rule.role, person);
    await next();
    if (!rule.action || c.res.status >= 400) return;
    // the route may add to the row (a version number, a count), name the target its path does not, or say nothing
    // changed
    const { targetId, noChange, ...detail } =
      (c.get as (key: string) => Record<string, unknown> | undefined)('auditDetail') ?? {};
    if (noChange === true) return;
    const target = typeof targetId === 'string' ? targetId : targetOf(rule, path);
    await recordAudit(c.env.DB, {
      actor: person.who,
      via: person.via,
      action: rule.action,
      targetKind: rule.target,
      targetId: target,
      detail: Object.keys(detail).length ? detail : undefined,
    }).catch((err) => console.error('audit write failed', err));
  };
}
