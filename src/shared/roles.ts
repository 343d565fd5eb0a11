/**
 * Roles: `viewer` sees deliveries and endpoints (masked as always), `operator` also replays, accepts reviewed leads,
 * imports customer keys and acknowledges problems, `admin` also edits endpoints, sets secrets and manages roles.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is asking: an email (Cloudflare Access), or "admin" (the admin token); and how. */
export type Person = { who: string; role: Role; via: 'console' | 'api' };

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

/** Whether a role may do what needs `needed`. */
export const allows = (role: Role, needed: Role) => ROLES.indexOf(role) >= ROLES.indexOf(needed);

/** Who did it, as a row records it: the person and where from (`lead@acme.cn (console)`, `admin (admin API)`). */
export const actorOf = (person: Person | undefined) =>
  `${person?.who ?? 'admin'} (${person?.via === 'api' ? 'admin API' : 'console'})`;
