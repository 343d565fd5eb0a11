/**
 * The field catalogue's pages: a module's fields (learned from the CRM's answers as the page opens), a capture pasted
 * from the CRM web app, and a field added, edited or removed by hand. The catalogue itself is
 * ../endpoints/catalogue.ts; each change here is one changeCatalogue (../endpoints/catalogue-store.ts), so edits made
 * at once by two people are both kept.
 */
import type { Hono } from 'hono/tiny';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CrmId } from '../endpoints/schema';
import {
  CUSTOMER_MODULE_ID,
  deleteField,
  learnCapture,
  setField,
  type Changed,
  type FieldType,
} from '../endpoints/catalogue';
import { type CatalogueChanged, changeCatalogue, learnedCatalogue } from '../endpoints/catalogue-store';
import { listEndpointSummaries } from '../endpoints/store';
import { parseMapLines } from './mapping-form';
import { consolePathWith, ROUTES } from './paths';
import { CataloguePage, type CataloguePageProps } from './views/catalogue';
import { type C, type ConsoleEnv, render, tOf } from './page';

const FIELD_TYPES = new Set<FieldType>(['text', 'select', 'multi', 'number', 'date', 'other']);

async function page(
  c: C,
  moduleId: string,
  extra: Partial<CataloguePageProps> = {},
  status: ContentfulStatusCode = 200,
) {
  const modules = [
    ...new Set([CUSTOMER_MODULE_ID, ...(await listEndpointSummaries(c.env.ENDPOINTS)).map((e) => e.moduleId)]),
  ];
  const valid = CrmId.safeParse(moduleId).success;
  const catalogue = valid ? await learnedCatalogue(c.env, moduleId) : null;
  const notice = !valid && moduleId ? { kind: 'error' as const, text: tOf(c).catalogue.badModule } : undefined;
  return render(
    c,
    <CataloguePage
      csrf={c.get('session').csrf}
      moduleId={moduleId}
      modules={modules}
      catalogue={catalogue}
      notice={notice}
      {...extra}
    />,
    status,
  );
}

const text = (v: unknown, max: number) => (typeof v === 'string' ? v.trim().slice(0, max) : '');

/** `option name = option id` lines as options (id → name). */
function optionsOf(lines: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [label, id] of Object.entries(parseMapLines(lines))) if (/^\d{1,30}$/.test(id)) out[id] = label;
  return out;
}

function refusalOf(c: C, changed: Extract<Changed, { ok: false }>): string {
  const t = tOf(c).catalogue;
  return changed.why === 'bad_key' ? t.badKey : t.tooMany(changed.why === 'too_many_fields' ? '2000' : '500');
}

/** The page again with the reason a change was not kept (the catalogue too big, or others changing it right now). */
function notKept<T>(c: C, moduleId: string, kept: Extract<CatalogueChanged<T>, { ok: false }>, paste?: string) {
  const t = tOf(c).catalogue;
  const text = kept.why === 'too_big' ? t.tooBig : t.busy;
  return page(
    c,
    moduleId,
    { notice: { kind: 'error', text }, ...(paste ? { paste } : {}) },
    kept.why === 'busy' ? 409 : 400,
  );
}

export function catalogueRoutes(pages: Hono<ConsoleEnv>) {
  pages.get(ROUTES.catalogue, (c) => {
    const saved = c.req.query('saved')?.slice(0, 64);
    const notice = saved ? { kind: 'ok' as const, text: tOf(c).catalogue.saved(saved) } : undefined;
    return page(c, (c.req.query('moduleId') || CUSTOMER_MODULE_ID).trim().slice(0, 30), notice ? { notice } : {});
  });

  pages.post(ROUTES.cataloguePaste, async (c) => {
    const body = await c.req.parseBody();
    const moduleId = text(body.moduleId, 30);
    const capture = typeof body.capture === 'string' ? body.capture.slice(0, 1024 * 1024) : '';
    if (!CrmId.safeParse(moduleId).success) return page(c, moduleId, {}, 400);
    await learnedCatalogue(c.env, moduleId);
    const kept = await changeCatalogue(c.env, moduleId, (catalogue) => {
      const learned = learnCapture(catalogue, capture);
      return { changed: learned.changed, result: learned };
    });
    const t = tOf(c).catalogue;
    if (!kept.result.found)
      return page(c, moduleId, { notice: { kind: 'error', text: t.nothingFound }, paste: capture }, 400);
    if (!kept.ok) return notKept(c, moduleId, kept, capture);
    c.set('auditDetail', kept.result.changed ? { targetId: moduleId } : { noChange: true });
    return page(c, moduleId, { notice: { kind: 'ok', text: t.learned(Object.keys(kept.catalogue.fields).length) } });
  });

  pages.post(ROUTES.catalogueField, async (c) => {
    const body = await c.req.parseBody();
    const moduleId = text(body.moduleId, 30);
    if (!CrmId.safeParse(moduleId).success) return page(c, moduleId, {}, 400);
    const key = text(body.key, 100);
    const type = text(body.type, 10) as FieldType;
    const options = optionsOf(typeof body.options === 'string' ? body.options : '');
    const change = { label: text(body.label, 200), type: FIELD_TYPES.has(type) ? type : 'text', options } as const;
    await learnedCatalogue(c.env, moduleId);
    const kept = await changeCatalogue(c.env, moduleId, (catalogue) => {
      const set = setField(catalogue, key, change);
      return { changed: set.ok && set.changed, result: set };
    });
    if (!kept.result.ok) return page(c, moduleId, { notice: { kind: 'error', text: refusalOf(c, kept.result) } }, 400);
    if (!kept.ok) return notKept(c, moduleId, kept);
    c.set('auditDetail', { targetId: moduleId, key });
    return c.redirect(consolePathWith('catalogue', { moduleId, saved: key }), 303);
  });

  pages.post(ROUTES.catalogueRemove, async (c) => {
    const body = await c.req.parseBody();
    const moduleId = text(body.moduleId, 30);
    if (!CrmId.safeParse(moduleId).success) return page(c, moduleId, {}, 400);
    const key = text(body.key, 100);
    const kept = await changeCatalogue(c.env, moduleId, (catalogue) => {
      const removed = deleteField(catalogue, key);
      return { changed: removed, result: removed };
    });
    if (!kept.ok) return notKept(c, moduleId, kept);
    c.set('auditDetail', { targetId: moduleId, key });
    return page(c, moduleId, { notice: { kind: 'ok', text: tOf(c).catalogue.removed(key) } });
  });
}
