/** Field rules: expressions, constants, value maps, defaults, required fields, and the customer id. */
import { describe, expect, it } from 'vitest';
import { compileMapping } from '../src/mapping/compile';
import { cnMobile, digits } from '../src/mapping/helpers';
import { mapPayload, type MapInput } from '../src/mapping/map';
import type { FieldRule } from '../src/mapping/rules';
import { CUSTOMER_ID, call, crmState, deliveryRow, hook, leadJson, setupEndpoint } from './helpers';

function compile(fields: Record<string, FieldRule>, customerId = 'crm_id') {
  const compiled = compileMapping({ customerId, fields });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  return compiled.mapping;
}

const input = (body: unknown, more: Partial<MapInput> = {}): MapInput => ({ body, headers: {}, query: {}, ...more });

describe('helpers', () => {
  it('$digits keeps only digits and yields nothing for nothing', () => {
    expect(digits('+86 138-0013-8000')).toBe('8613800138000');
    expect(digits(8613600136000)).toBe('8613600136000');
    expect(digits('abc')).toBeUndefined();
    expect(digits(undefined)).toBeUndefined();
  });

  it('$cnMobile normalises mainland mobiles and refuses everything else', () => {
    expect(cnMobile('+86 139-0013-9000')).toBe('13900139000');
    expect(cnMobile('0086 13900139000')).toBe('13900139000');
    expect(cnMobile('8613900139000')).toBe('13900139000');
    expect(cnMobile(8613600136000)).toBe('13600136000');
    expect(cnMobile('13900139000')).toBe('13900139000');
    expect(cnMobile('010-88886666')).toBeUndefined(); // landline
    expect(cnMobile('+1 415 555 0100')).toBeUndefined(); // 11 digits from 14x, but +1
    expect(cnMobile('12345678901')).toBeUndefined(); // no mainland mobile starts with 12
    expect(cnMobile('1390013900')).toBeUndefined(); // 10 digits
    expect(cnMobile(null)).toBeUndefined();
  });
});

describe('mapPayload', () => {
  it('evaluates expressions with $headers, $query and the helpers bound', async () => {
    const mapping = compile({
      name: '$trim(name)',
      phone: '$cnMobile(mobile)',
      note: '"来源: " & $headers."x-source" & " / " & $query.utm',
      input_1: '$digits(code)',
    });
    const result = await mapPayload(
      mapping,
      input(
        { crm_id: CUSTOMER_ID, name: ' 吴九 ', mobile: '+86 139 0013 9000', code: 'A-12-B3' },
        { headers: { 'x-source': 'lp' }, query: { utm: 'ad' } },
      ),
    );
    expect(result).toEqual({
      ok: true,
      customerId: CUSTOMER_ID,
      warnings: [],
      fields: { name: '吴九', phone: '13900139000', note: '来源: lp / ad', input_1: '123' },
    });
  });

  it('sends a constant as given', async () => {
    const result = await mapPayload(
      compile({ source: { value: '514465485002113024' } }),
      input({ crm_id: CUSTOMER_ID }),
    );
    expect(result).toMatchObject({ ok: true, fields: { source: '514465485002113024' } });
  });

  it('translates values through a map, and leaves out a miss with a warning', async () => {
    const mapping = compile({ select_1: { from: 'level', map: { A: '484020435193692160' } } });
    expect(await mapPayload(mapping, input({ crm_id: CUSTOMER_ID, level: 'A' }))).toMatchObject({
      ok: true,
      fields: { select_1: '484020435193692160' },
    });
    const miss = await mapPayload(mapping, input({ crm_id: CUSTOMER_ID, level: 'Z' }));
    expect(miss).toEqual({
      ok: true,
      customerId: CUSTOMER_ID,
      fields: {},
      warnings: ['fields.select_1: value "Z" is not in the map; field left out'],
    });
  });

  it('applies a default when the expression or the map yields nothing', async () => {
    const mapping = compile({
      note: { from: 'comment', default: '无备注' },
      select_1: { from: 'level', map: { A: '1' }, default: '0' },
    });
    expect(await mapPayload(mapping, input({ crm_id: CUSTOMER_ID, level: 'Z' }))).toMatchObject({
      ok: true,
      fields: { note: '无备注', select_1: '0' },
    });
  });

  it('leaves out a field that yields nothing (undefined, null, blank, []), never sending null', async () => {
    const mapping = compile({ a: 'missing', b: 'nul', c: 'blank', d: 'empty', e: 'zero', f: 'no' });
    const result = await mapPayload(
      mapping,
      input({ crm_id: CUSTOMER_ID, nul: null, blank: '  ', empty: [], zero: 0, no: false }),
    );
    expect(result).toMatchObject({ ok: true, fields: { e: 0, f: false } });
    expect(Object.keys((result as { fields: object }).fields)).toEqual(['e', 'f']);
  });

  it('refuses a missing required field, naming it', async () => {
    const mapping = compile({ input_1680509561692: { from: 'utm_campaign', required: true } });
    const result = await mapPayload(mapping, input({ crm_id: CUSTOMER_ID }));
    expect(result).toMatchObject({
      ok: false,
      reason: 'mapping_failed',
      field: 'input_1680509561692',
      message: 'required field "input_1680509561692" has no value',
    });
  });

  it('reports an expression that fails at run time as mapping_failed for its field', async () => {
    const result = await mapPayload(
      compile({ name: '$substring(name, "x")' }),
      input({ crm_id: CUSTOMER_ID, name: 'a' }),
    );
    expect(result).toMatchObject({ ok: false, reason: 'mapping_failed', field: 'name' });
  });

  it('accepts a customer id given as a safe JSON number or a decimal string', async () => {
    expect(await mapPayload(compile({}), input({ crm_id: 12345 }))).toMatchObject({ ok: true, customerId: '12345' });
    expect(await mapPayload(compile({}), input({ crm_id: ` ${CUSTOMER_ID} ` }))).toMatchObject({
      ok: true,
      customerId: CUSTOMER_ID,
    });
  });

  it('refuses a customer id that is missing or not decimal', async () => {
    expect(await mapPayload(compile({}), input({}))).toMatchObject({
      ok: false,
      reason: 'customer_unresolved',
      message: 'customerId expression yielded nothing',
    });
    expect(await mapPayload(compile({}), input({ crm_id: 'abc' }))).toMatchObject({
      ok: false,
      reason: 'customer_unresolved',
      message:
        'customerId expression yielded "abc", not a customer id (a positive decimal of at most 19 digits: no sign, exponent or leading zeros)',
    });
    expect(await mapPayload(compile({}), input({ crm_id: 1.5 }))).toMatchObject({
      ok: false,
      reason: 'customer_unresolved',
    });
  });

  it('reports every broken expression with its path at compile time', () => {
    const compiled = compileMapping({
      customerId: 'crm_id(',
      fields: { name: '$trim(', note: { from: '][' }, ok: 'a.b' },
    });
    expect(compiled.ok).toBe(false);
    expect((compiled as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      'customerId',
      'fields.name',
      'fields.note.from',
    ]);
  });
});

describe('mapping failures on the wire', () => {
  it('answers 422 mapping_failed naming the field, logs invalid, and never calls the CRM', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(hook(endpointId, leadJson({ utm_campaign: undefined })));
    expect(res.status).toBe(422);
    const body = await res.json<{ error: { code: string; message: string }; deliveryId: string }>();
    expect(body.error).toEqual({
      code: 'mapping_failed',
      message: 'required field "input_1680509561692" has no value',
    });
    expect(await deliveryRow(body.deliveryId)).toMatchObject({ status: 'invalid', reason: 'mapping_failed' });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('answers 422 customer_unresolved when the customer id is missing', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(hook(endpointId, leadJson({ crm_id: undefined })));
    expect(res.status).toBe(422);
    const body = await res.json<{ error: { code: string }; deliveryId: string }>();
    expect(body.error.code).toBe('customer_unresolved');
    expect(await deliveryRow(body.deliveryId)).toMatchObject({
      status: 'unmatched',
      reason: 'customer_unresolved',
      message: 'customerId expression yielded nothing',
    });
    expect((await crmState(productLineId)).requests).toHaveLength(0);
  });

  it('delivers with a map miss and keeps the warning on the row', async () => {
    const { endpointId, productLineId } = await setupEndpoint();
    const res = await call(hook(endpointId, leadJson({ level: 'Z' })));
    expect(res.status).toBe(200);
    const { deliveryId } = await res.json<{ deliveryId: string }>();
    const sent = JSON.parse((await crmState(productLineId)).requests[0]!.rawBody);
    expect(sent).not.toHaveProperty('select_1680162080347');
    expect(JSON.parse((await deliveryRow(deliveryId))!.warnings as string)).toEqual([
      'fields.select_1680162080347: value "Z" is not in the map; field left out',
    ]);
  });
});
