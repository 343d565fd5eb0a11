/** The team's roles (the `people` table's SQL). The first admin is the var ACCESS_ADMIN_EMAIL, always an admin. */
import { isRole, type Role } from '../shared/roles';

export type PersonRow = { email: string; role: Role; setBy: string; setAt: number };

export async function listPeople(db: D1Database): Promise<PersonRow[]> {
  const { results } = await db
    .prepare('SELECT email, role, set_by, set_at FROM people ORDER BY email')
    .all<{ email: string; role: string; set_by: string; set_at: number }>();
  return results
    .filter((r) => isRole(r.role))
    .map((r) => ({ email: r.email, role: r.role as Role, setBy: r.set_by, setAt: r.set_at }));
}

/**
 * A signed-in person's role: the first admin's email is an admin; anyone else has the role an admin gave them, or
 * `viewer` (Cloudflare Access's policy already decides who reaches the console at all).
 */
export async function roleOf(db: D1Database, email: string, firstAdmin: string | undefined): Promise<Role> {
  if (firstAdmin && email === firstAdmin.trim().toLowerCase()) return 'admin';
  const row = await db.prepare('SELECT role FROM people WHERE email = ?').bind(email).first<{ role: string }>();
  return row && isRole(row.role) ? row.role : 'viewer';
}

export async function setRole(db: D1Database, email: string, role: Role, by: string, now: number): Promise<void> {
  await db
    .prepare('INSERT OR REPLACE INTO people (email, role, set_by, set_at) VALUES (?, ?, ?, ?)')
    .bind(email.toLowerCase(), role, by, now)
    .run();
}

export async function removePerson(db: D1Database, email: string): Promise<boolean> {
  const { meta } = await db.prepare('DELETE FROM people WHERE email = ?').bind(email.toLowerCase()).run();
  return meta.changes > 0;
}
