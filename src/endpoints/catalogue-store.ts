/**
 * Where each CRM module's field catalogue (./catalogue.ts) is kept: D1 table `catalogues`
 * (migrations/0012_catalogues.sql), one row a module holding the catalogue and a version. Every change reads the row,
 * applies itself and writes only over the version it read; when someone else changed the catalogue meanwhile (two
 * people editing, the catalogue learning from the log as a colleague opens the editor), it reads again and applies
 * itself to what is there now, so no change is lost. KV, where the catalogue was kept before
 * (`v1:crm-catalogue:<moduleId>`, and earlier `v1:crm-fields:<moduleId>`), is read until the module's first change
 * here; it took one write a second per key and read stale for up to a minute elsewhere, so a read-modify-write there
 * lost edits.
 */
import { crmAnswersAfter } from '../deliveries/store';
import { addField, type Catalogue, catalogueOf, catalogueOfLabels, emptyCatalogue, learnAnswerText } from './catalogue';

/** What a catalogue is read from: the table, and KV for a module not changed since the catalogue moved. */
export type CatalogueEnv = { DB: D1Database; ENDPOINTS: KVNamespace };

/** The most a module's catalogue may take as stored JSON (D1 keeps a value of up to 2,000,000 bytes). */
export const CATALOGUE_BYTES_MAX = 1_000_000;
/**
 * How often a change is applied again over a catalogue someone else changed meanwhile, before it gives up. A try fails
 * only when another change was kept after it read, and each change is kept once: with up to CHANGE_TRIES changes at
 * once, every one is kept.
 */
const CHANGE_TRIES = 20;
/** How many answers one look at the log learns from (the next look goes on from the last one read). */
const ANSWERS_PER_LOOK = 200;

type Stored = { catalogue: Catalogue; version: number };

/** The module's catalogue and the version it was read at (0: no row yet, read from KV). */
async function load(env: CatalogueEnv, moduleId: string): Promise<Stored> {
  const row = await env.DB.prepare('SELECT doc, version FROM catalogues WHERE module_id = ?')
    .bind(moduleId)
    .first<{ doc: string; version: number }>();
  if (row) return { catalogue: catalogueOf(JSON.parse(row.doc)), version: row.version };
  const before = await env.ENDPOINTS.get<unknown>(`v1:crm-catalogue:${moduleId}`, 'json');
  if (before !== null) return { catalogue: catalogueOf(before), version: 0 };
  const labels = await env.ENDPOINTS.get<unknown>(`v1:crm-fields:${moduleId}`, 'json');
  return { catalogue: catalogueOfLabels(labels), version: 0 };
}

/** Writes the catalogue over `version` (0: the first row); false when someone else wrote it meanwhile. */
async function store(env: CatalogueEnv, moduleId: string, doc: string, version: number, now: number) {
  const written =
    version === 0
      ? await env.DB.prepare(
          `INSERT INTO catalogues (module_id, doc, version, updated_at) VALUES (?, ?, 1, ?)
           ON CONFLICT (module_id) DO NOTHING RETURNING version`,
        )
          .bind(moduleId, doc, now)
          .first()
      : await env.DB.prepare(
          `UPDATE catalogues SET doc = ?, version = version + 1, updated_at = ?
           WHERE module_id = ? AND version = ? RETURNING version`,
        )
          .bind(doc, now, moduleId, version)
          .first();
  return written !== null;
}

/** The module's catalogue (the CRM's own fields at least). */
export async function readCatalogue(env: CatalogueEnv, moduleId: string): Promise<Catalogue> {
  return moduleId ? (await load(env, moduleId)).catalogue : emptyCatalogue();
}

export type CatalogueChanged<T> =
  | { ok: true; catalogue: Catalogue; result: T }
  | { ok: false; why: 'too_big' | 'busy'; catalogue: Catalogue; result: T };

/**
 * Applies `change` to the module's catalogue and keeps the result when `change` says it changed something: written
 * only over the version read, else read again and applied again (a change is a function of the catalogue, so it
 * applies as well to what someone else wrote). Refused when the catalogue would pass CATALOGUE_BYTES_MAX, or when
 * others kept changing it for CHANGE_TRIES tries (`busy`); `catalogue` is then the one read last.
 */
export async function changeCatalogue<T>(
  env: CatalogueEnv,
  moduleId: string,
  change: (catalogue: Catalogue) => { changed: boolean; result: T },
  now = Date.now(),
): Promise<CatalogueChanged<T>> {
  let last: { catalogue: Catalogue; result: T } | undefined;
  for (let i = 0; i < CHANGE_TRIES; i++) {
    const { catalogue, version } = await load(env, moduleId);
    const { changed, result } = change(catalogue);
    last = { catalogue, result };
    if (!changed) return { ok: true, ...last };
    const doc = JSON.stringify(catalogue);
    if (new TextEncoder().encode(doc).byteLength > CATALOGUE_BYTES_MAX) return { ok: false, why: 'too_big', ...last };
    if (await store(env, moduleId, doc, version, now)) return { ok: true, ...last };
  }
  return { ok: false, why: 'busy', ...last! };
}

/**
 * The catalogue with what the CRM answered since it last looked (the deliveries log keeps each answer): read where
 * the catalogue is shown (the editor, the catalogue page), never on the webhook's path. Kept when it learned or read
 * further; a catalogue that cannot be kept (too big, busy, D1 failing) is shown as learned and learned again next time.
 */
export async function learnedCatalogue(env: CatalogueEnv, moduleId: string): Promise<Catalogue> {
  if (!moduleId) return emptyCatalogue();
  const { catalogue } = await load(env, moduleId);
  const answers = await crmAnswersAfter(env.DB, moduleId, catalogue.learnedThrough, ANSWERS_PER_LOOK);
  if (answers.length === 0) return catalogue;
  const through = answers[answers.length - 1]!.id;
  const kept = await changeCatalogue(env, moduleId, (now) => {
    // another look may have learned some of these already (and written since): each answer is learned once
    const fresh = answers.filter((a) => a.id > now.learnedThrough);
    for (const a of fresh) learnAnswerText(now, a.answer);
    if (fresh.length > 0) now.learnedThrough = through;
    return { changed: fresh.length > 0, result: undefined };
  }).catch((err) => {
    console.error(`catalogue of ${moduleId}: what was learned is not kept (learned again next time)`, err);
    return null;
  });
  if (!kept) {
    for (const a of answers) learnAnswerText(catalogue, a.answer);
    return catalogue;
  }
  return kept.catalogue;
}

/** Adds the fields a saved mapping named, with the labels people gave them, to the module's catalogue. */
export async function rememberFields(
  env: CatalogueEnv,
  moduleId: string,
  rows: { field: string; label: string }[],
): Promise<void> {
  if (!moduleId || rows.length === 0) return;
  await changeCatalogue(env, moduleId, (catalogue) => {
    let changed = false;
    for (const row of rows) {
      const added = addField(catalogue, row.field, { label: row.label, origin: 'manual' });
      if (added.ok && added.changed) changed = true;
    }
    return { changed, result: undefined };
  });
}
