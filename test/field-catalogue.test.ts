/**
 * The field catalogue (issue "A marketer finishes the setup alone"): a module's CRM fields and a select's options by
 * name, learned from the CRM's answers kept in the log, from a capture pasted from the CRM web app, and by hand; the
 * editor then takes fields and options by name and stores the ids. Each module here is its own, so tests share nothing.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CATALOGUES } from '../src/console/i18n';
import {
  addField,
  emptyCatalogue,
  FIELDS_MAX,
  learnAnswerText,
  learnCapture,
  OPTIONS_MAX,
  setField,
  type Catalogue,
} from '../src/endpoints/catalogue';
import {
  CATALOGUE_BYTES_MAX,
  changeCatalogue,
  learnedCatalogue,
  readCatalogue,
} from '../src/endpoints/catalogue-store';
import {
  call,
  consoleForm,
  consolePage,
  consoleSignIn,
  CUSTOMER_ID,
  hook,
  leadJson,
  rowsFor,
  setupEndpoint,
  unique,
} from './helpers';

const zh = CATALOGUES.zh;
const SELECT = 'select_1680162080347';
/** A module id of this test's own: the catalogue is kept per module. */
const moduleOf = () => `9${String(Date.now()).slice(-9)}${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
type StoredCatalogue = {
  fields: Record<string, { label: string; options: Record<string, string>; origin: string }>;
  learnedThrough: string;
};
/** The module's catalogue as D1 holds it (migrations/0012_catalogues.sql), or null before its first change. */
const stored = async (moduleId: string) => {
  const row = await env.DB.prepare('SELECT doc FROM catalogues WHERE module_id = ?')
    .bind(moduleId)
    .first<{ doc: string }>();
  return row ? (JSON.parse(row.doc) as StoredCatalogue) : null;
};

/** The CRM's update answer for a customer whose intent select and source are set (../shared/crm-api.md shape). */
const ANSWER = {
  code: 200,
  message: '',
  data: {
    item: {
      id: CUSTOMER_ID,
      mid: '347772778973233152',
      name: '单单',
      phone: '18888282822',
      source: {
        id: '514465485002113024',
        name: '官网表单',
        group_id: '0',
        is_active: 1,
        color: '',
        sort_num: 0,
        is_default: 0,
      },
      [SELECT]: { id: '484020435193692160', name: '高意向' },
      input_1680509561692: '',
      textarea_1680158327352: null,
      checkbox_1690000000001: [
        { id: '484020435193692170', name: '价格' },
        { id: '484020435193692171', name: '售后' },
      ],
      created_id: { id: '400000000000000002', name: '销售小王', avatar_url: '' },
      is_public: 0,
      _can_edit: true,
    },
  },
};

describe('learned from the CRM’s own answers', () => {
  it('a delivered update teaches the module its field keys and the name of every option that came back expanded', async () => {
    const moduleId = moduleOf();
    // a mapping the form can show: the editor opens on its rows
    const fields = {
      name: 'name',
      note: 'comment',
      [SELECT]: { from: 'level', map: { A: '484020435193692160' } },
      source: { value: '514465485002113024' },
    };
    const { endpointId } = await setupEndpoint({ fields }, { moduleId });
    const res = await call(hook(endpointId, leadJson({ level: 'A' })));
    expect(res.status).toBe(200);
    const [row] = await rowsFor(endpointId);
    expect(row!.status).toBe('delivered');
    expect(await stored(moduleId)).toBeNull(); // nothing on the webhook's path
    const s = await consoleSignIn();
    const html = await (await call(consolePage(`/console/crm/fields?moduleId=${moduleId}`, s))).text();
    expect(html).toContain(`<code>${SELECT}</code>`);
    expect(html).toContain('高意向'); // the option the update set, named by the CRM's answer
    expect(html).toContain('官网表单'); // the source the mapping set, expanded in the same answer
    const kept = (await stored(moduleId))!;
    expect(kept.fields[SELECT]).toMatchObject({ origin: 'learned', options: { '484020435193692160': '高意向' } });
    expect(kept.fields.source!.options).toMatchObject({ '514465485002113024': '官网表单' });
    // the editor offers the option by its name beside the value map, and shows the stored id by it
    const editor = await (await call(consolePage(`/console/endpoints/${endpointId}`, s))).text();
    expect(editor).toContain(`<option value="${SELECT}"`);
    expect(editor).toContain(`${zh.editor.optionsKnown} 高意向`);
    expect(editor).toMatch(/name="row\.\d+\.map"[^>]*>A = 高意向/);
  });

  it('an answer the log kept cut short (8 KiB) still teaches its keys and the options it holds', () => {
    const cat = emptyCatalogue();
    const text = JSON.stringify(ANSWER).slice(0, 420);
    expect(() => JSON.parse(text)).toThrow();
    expect(learnAnswerText(cat, text)).toBe(true);
    expect(cat.fields[SELECT]!.options).toEqual({ '484020435193692160': '高意向' });
    expect(cat.fields.source!.options).toEqual({ '514465485002113024': '官网表单' });
  });

  it('learns only fields a mapping may write: not the system keys (id, created_id, is_public, _can_edit)', () => {
    const cat = emptyCatalogue();
    learnAnswerText(cat, JSON.stringify(ANSWER));
    expect(Object.keys(cat.fields).sort()).toEqual(
      [
        'checkbox_1690000000001',
        'input_1680509561692',
        'name',
        'note',
        'phone',
        SELECT,
        'source',
        'tags',
        'textarea_1680158327352',
      ].sort(),
    );
    expect(cat.fields.checkbox_1690000000001).toMatchObject({
      type: 'multi',
      options: { '484020435193692170': '价格', '484020435193692171': '售后' },
    });
  });
});

describe('a capture pasted from the CRM web app', () => {
  const curl = `curl 'https://crm.example.com/api/moduleData/update' \\
  -H 'default-product-id: 688051545102614528' \\
  -H 'content-type: application/json;charset=UTF-8' \\
  --data-raw '{"name":"单单","source":"514465485002113024","note":"","phone":"18888282822","textarea_1680158327352":"","${SELECT}":"484020435193692160","input_1680509561692":"","mid":"347772778973233152","id":"688346218203447296"}'`;

  it('a request copied as cURL names the module’s custom fields; an answer names the options', async () => {
    const moduleId = moduleOf();
    const s = await consoleSignIn();
    const first = await call(consoleForm('/console/crm/fields/paste', s, { moduleId, capture: curl }));
    expect(first.status).toBe(200);
    expect(await first.text()).toContain(zh.catalogue.learned(8));
    let kept = (await stored(moduleId))!;
    expect(Object.keys(kept.fields)).toEqual(
      expect.arrayContaining([SELECT, 'input_1680509561692', 'textarea_1680158327352']),
    );
    expect(kept.fields[SELECT]).toMatchObject({ origin: 'pasted', options: {} });
    const answer = await call(
      consoleForm('/console/crm/fields/paste', s, { moduleId, capture: JSON.stringify(ANSWER) }),
    );
    expect(answer.status).toBe(200);
    kept = (await stored(moduleId))!;
    expect(kept.fields[SELECT]!.options).toEqual({ '484020435193692160': '高意向' });
  });

  it('a form layout (field definitions with labels and options) names the fields too', () => {
    const cat = emptyCatalogue();
    const layout = {
      code: 200,
      data: {
        fields: [
          {
            field: SELECT,
            label: '意向等级',
            options: [
              { id: '484020435193692160', name: '高意向' },
              { value: '484020435193692161', label: '中意向' },
            ],
          },
        ],
      },
    };
    expect(
      learnCapture(
        cat,
        `fetch("https://crm.example.com/api/form", {"body": ${JSON.stringify(JSON.stringify(layout))}, "method": "POST"});`,
      ).found,
    ).toBe(true);
    expect(cat.fields[SELECT]).toMatchObject({
      label: '意向等级',
      type: 'select',
      options: { '484020435193692160': '高意向', '484020435193692161': '中意向' },
    });
  });

  it('a paste with no CRM field in it is refused with what to copy, and nothing is stored', async () => {
    const moduleId = moduleOf();
    const s = await consoleSignIn();
    const res = await call(consoleForm('/console/crm/fields/paste', s, { moduleId, capture: '{"hello":"world"}' }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(zh.catalogue.nothingFound);
    expect(await stored(moduleId)).toBeNull();
  });
});

describe('by hand', () => {
  it('adds, edits and removes a field; the CRM’s own fields stay; hostile keys are refused, never a 500', async () => {
    const moduleId = moduleOf();
    const s = await consoleSignIn();
    const added = await call(
      consoleForm('/console/crm/fields/field', s, {
        moduleId,
        key: SELECT,
        label: '意向等级',
        type: 'select',
        options: '高意向 = 484020435193692160\n中意向 = 484020435193692161',
      }),
    );
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe(`/console/crm/fields?moduleId=${moduleId}&saved=${SELECT}`);
    expect((await stored(moduleId))!.fields[SELECT]).toEqual({
      label: '意向等级',
      type: 'select',
      origin: 'manual',
      options: { '484020435193692160': '高意向', '484020435193692161': '中意向' },
    });
    const page = await (await call(consolePage(`/console/crm/fields?moduleId=${moduleId}&saved=${SELECT}`, s))).text();
    expect(page).toContain(zh.catalogue.saved(SELECT));
    expect(page).toContain('高意向 = 484020435193692160');
    for (const key of ['__proto__', 'constructor', 'prototype', 'has space', '<script>']) {
      const res = await call(
        consoleForm('/console/crm/fields/field', s, { moduleId, key, label: 'x', type: 'text', options: '' }),
      );
      expect(res.status, key).toBe(400);
      expect(await res.text()).toContain(zh.catalogue.badKey);
    }
    expect(Object.keys((await stored(moduleId))!.fields)).not.toContain('constructor');
    const removed = await call(consoleForm('/console/crm/fields/remove', s, { moduleId, key: SELECT }));
    expect(removed.status).toBe(200);
    expect((await stored(moduleId))!.fields[SELECT]).toBeUndefined();
    await call(consoleForm('/console/crm/fields/remove', s, { moduleId, key: 'phone' }));
    expect((await readCatalogue(env, moduleId)).fields.phone).toMatchObject({ origin: 'built-in' });
  });

  it('is bounded: the 2001st field and the 501st option are refused, not kept', () => {
    const cat: Catalogue = emptyCatalogue();
    for (let i = Object.keys(cat.fields).length; i < FIELDS_MAX; i++)
      expect(addField(cat, `input_${1_000_000 + i}`, { origin: 'learned' }).ok).toBe(true);
    expect(addField(cat, 'input_9999999', { origin: 'learned' })).toEqual({ ok: false, why: 'too_many_fields' });
    const options = Object.fromEntries(
      Array.from({ length: OPTIONS_MAX + 1 }, (_, i) => [String(484020435193692160n + BigInt(i)), `选项${i}`]),
    );
    expect(addField(cat, 'name', { origin: 'manual', options })).toEqual({ ok: false, why: 'too_many_options' });
  });

  it('a catalogue kept in KV before (holding prototype keys) reads as plain data', async () => {
    const moduleId = moduleOf();
    await env.ENDPOINTS.put(
      `v1:crm-catalogue:${moduleId}`,
      '{"fields":{"__proto__":{"label":"x","options":{}},"select_1":{"label":"ok","options":{"__proto__":"y","12":"十二"}}},"learnedThrough":""}',
    );
    const cat = await readCatalogue(env, moduleId);
    expect(Object.hasOwn(cat.fields, '__proto__')).toBe(false);
    expect(cat.fields.select_1!.options).toEqual({ '12': '十二' });
    expect(({} as Record<string, unknown>).label).toBeUndefined();
  });
});

describe('the editor by name', () => {
  const form = (productLineId: string, moduleId: string, rows: Record<string, string>): Record<string, string> => ({
    id: unique('names'),
    editing: 'form',
    save: 'form',
    preset: 'jinshuju',
    name: '报名表',
    moduleId,
    productLineId,
    secret: 'TEST_FORM_TOKEN',
    customerId: '',
    lookupKey: 'phone',
    lookupFrom: 'mobile',
    updateMode: 'patch',
    onUnmatched: 'keep',
    config: '{}',
    ...rows,
  });

  async function withCatalogue() {
    const moduleId = moduleOf();
    const { productLineId } = await setupEndpoint({}, { moduleId });
    const s = await consoleSignIn();
    await call(
      consoleForm('/console/crm/fields/field', s, {
        moduleId,
        key: SELECT,
        label: '意向等级',
        type: 'select',
        options: '高意向 = 484020435193692160\n中意向 = 484020435193692161',
      }),
    );
    await call(consoleForm('/console/crm/fields/paste', s, { moduleId, capture: JSON.stringify(ANSWER) })); // source: 官网表单
    return { moduleId, productLineId, s };
  }

  it('a field picked by its name and options given by name are stored as the CRM’s key and ids, and read back by name', async () => {
    const { moduleId, productLineId, s } = await withCatalogue();
    const fields = form(productLineId, moduleId, {
      'row.0.field': '意向等级',
      'row.0.kind': 'map',
      'row.0.from': 'level',
      'row.0.map': 'A = 高意向\nB = 中意向',
      'row.1.field': '来源',
      'row.1.kind': 'constant',
      'row.1.value': '官网表单',
      'row.2.field': '手机', // the name the console gives the CRM's own phone field
      'row.2.kind': 'field',
      'row.2.from': 'mobile',
    });
    // the CRM's own field 来源 is named by its built-in label only in the list; typed as its key it is found too
    fields['row.1.field'] = 'source';
    const res = await call(consoleForm('/console/endpoints', s, fields));
    expect(res.status, await res.clone().text()).toBe(303);
    const config = (await env.ENDPOINTS.get<{ config: { fields: Record<string, unknown> } }>(
      `v1:endpoint:${fields.id}`,
      'json',
    ))!.config;
    expect(config.fields).toEqual({
      [SELECT]: { from: 'level', map: { A: '484020435193692160', B: '484020435193692161' } },
      source: { value: '514465485002113024' },
      phone: 'mobile',
    });
    const editor = await (await call(consolePage(`/console/endpoints/${fields.id}`, s))).text();
    expect(editor).toMatch(/name="row\.0\.map"[^>]*>A = 高意向\nB = 中意向/);
    expect(editor).toContain('name="row.1.value" value="官网表单"');
  });

  it('an option name the field does not have is refused with a sentence naming both, and nothing is saved', async () => {
    const { moduleId, productLineId, s } = await withCatalogue();
    const fields = form(productLineId, moduleId, {
      'row.0.field': SELECT,
      'row.0.kind': 'map',
      'row.0.from': 'level',
      'row.0.map': 'A = 超高意向',
    });
    const res = await call(consoleForm('/console/endpoints', s, fields));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(zh.editor.unknownOption('意向等级', '超高意向'));
    expect(await env.ENDPOINTS.get(`v1:endpoint:${fields.id}`)).toBeNull();
  });

  it('a name that is no field of the module is refused, not sent to the CRM as a key', async () => {
    const { moduleId, productLineId, s } = await withCatalogue();
    const fields = form(productLineId, moduleId, {
      'row.0.field': '公司名称',
      'row.0.kind': 'field',
      'row.0.from': 'name',
    });
    const res = await call(consoleForm('/console/endpoints', s, fields));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(zh.editor.unknownField('公司名称'));
    expect(await env.ENDPOINTS.get(`v1:endpoint:${fields.id}`)).toBeNull();
  });

  it('an id is still taken as given (an option not yet learned)', async () => {
    const { moduleId, productLineId, s } = await withCatalogue();
    const fields = form(productLineId, moduleId, {
      'row.0.field': SELECT,
      'row.0.kind': 'map',
      'row.0.from': 'level',
      'row.0.map': 'C = 484020435193692199',
    });
    expect((await call(consoleForm('/console/endpoints', s, fields))).status).toBe(303);
  });
});

describe('many at once (D1, each change over the version it read)', () => {
  it('ten people naming ten fields at once: every name is kept (KV read-modify-write kept only some)', async () => {
    const moduleId = moduleOf();
    const s = await consoleSignIn();
    const keys = Array.from({ length: 10 }, (_, i) => `input_${1_680_000_000_000 + i}`);
    const answers = await Promise.all(
      keys.map((key, i) =>
        call(
          consoleForm('/console/crm/fields/field', s, { moduleId, key, label: `字段${i}`, type: 'text', options: '' }),
        ),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(keys.map(() => 303));
    const kept = (await stored(moduleId))!;
    for (const [i, key] of keys.entries()) expect(kept.fields[key], key).toMatchObject({ label: `字段${i}` });
  });

  it('learning from the log while someone names a field: both the learned options and the name are kept', async () => {
    const moduleId = moduleOf();
    const fields = { name: 'name', [SELECT]: { from: 'level', map: { A: '484020435193692160' } } };
    const { endpointId } = await setupEndpoint({ fields }, { moduleId });
    expect((await call(hook(endpointId, leadJson({ level: 'A' })))).status).toBe(200);
    const named = (catalogue: Catalogue) => {
      const set = setField(catalogue, 'input_1680509561692', { label: '预算', type: 'text', options: {} });
      return { changed: set.ok && set.changed, result: set };
    };
    const [learned, edit] = await Promise.all([learnedCatalogue(env, moduleId), changeCatalogue(env, moduleId, named)]);
    expect(edit.ok).toBe(true);
    expect(learned.fields[SELECT]!.options).toMatchObject({ '484020435193692160': '高意向' });
    const kept = (await stored(moduleId))!;
    expect(kept.fields.input_1680509561692).toMatchObject({ label: '预算', origin: 'manual' });
    expect(kept.fields[SELECT]).toMatchObject({ options: { '484020435193692160': '高意向' } });
    expect(kept.learnedThrough).not.toBe('');
  });

  it('five looks at the log at once learn each answer once and agree on where they stopped', async () => {
    const moduleId = moduleOf();
    const fields = { name: 'name', [SELECT]: { from: 'level', map: { A: '484020435193692160' } } };
    const { endpointId } = await setupEndpoint({ fields }, { moduleId });
    expect((await call(hook(endpointId, leadJson({ level: 'A' })))).status).toBe(200);
    const [row] = await rowsFor(endpointId);
    await Promise.all(Array.from({ length: 5 }, () => learnedCatalogue(env, moduleId)));
    const kept = (await stored(moduleId))!;
    expect(kept.learnedThrough).toBe(row!.id);
    expect(kept.fields[SELECT]!.options).toEqual({ '484020435193692160': '高意向' });
  });

  it('a catalogue kept in KV before is carried over whole at its first change', async () => {
    const moduleId = moduleOf();
    await env.ENDPOINTS.put(
      `v1:crm-catalogue:${moduleId}`,
      JSON.stringify({
        fields: { [SELECT]: { label: '意向等级', type: 'select', options: { '484020435193692160': '高意向' } } },
        learnedThrough: '',
      }),
    );
    const s = await consoleSignIn();
    const res = await call(
      consoleForm('/console/crm/fields/field', s, {
        moduleId,
        key: 'input_1680509561692',
        label: '预算',
        type: 'text',
        options: '',
      }),
    );
    expect(res.status).toBe(303);
    const kept = (await stored(moduleId))!;
    expect(kept.fields[SELECT]).toMatchObject({ label: '意向等级', options: { '484020435193692160': '高意向' } });
    expect(kept.fields.input_1680509561692).toMatchObject({ label: '预算' });
  });

  it('refuses, with a sentence, a change that would pass 1 MB, and keeps the catalogue as it was', async () => {
    const moduleId = moduleOf();
    // a catalogue just under the bound: selects with many long option names
    const big = emptyCatalogue();
    let n = 0;
    while (JSON.stringify(big).length < CATALOGUE_BYTES_MAX - 60_000) {
      const options = Object.fromEntries(
        Array.from({ length: OPTIONS_MAX }, (_, i) => [
          String(484020435193692160n + BigInt(n * 1000 + i)),
          'x'.repeat(90),
        ]),
      );
      addField(big, `select_${1_680_000_000_000 + n++}`, { origin: 'manual', type: 'select', options });
    }
    const seeded = await changeCatalogue(env, moduleId, (c) => {
      Object.assign(c.fields, big.fields);
      return { changed: true, result: undefined };
    });
    expect(seeded.ok).toBe(true);
    const before = JSON.stringify(await stored(moduleId));
    const options = Array.from(
      { length: OPTIONS_MAX },
      (_, i) => `${'y'.repeat(96)}${String(i).padStart(4, '0')} = ${584020435193692160n + BigInt(i)}`,
    );
    const s = await consoleSignIn();
    const res = await call(
      consoleForm('/console/crm/fields/field', s, {
        moduleId,
        key: 'select_1690000000000',
        label: '太多',
        type: 'select',
        options: options.join('\n'),
      }),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(zh.catalogue.tooBig);
    expect(JSON.stringify(await stored(moduleId))).toBe(before);
  });
});
