/** The mapping fast path must give exactly what JSONata gives, or hand over to it. */
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { fastExpression } from '../../src/mapping/fast-path';
import { cnMobile, digits } from '../../src/mapping/helpers';

const bindings = { cnMobile, digits };
const inputs: unknown[] = [
  {
    name: '  吴  九 \\n',
    mobile: '+86 139-0013-9000',
    data: { Company: 'Example', 'First Name': 'Ada', list: ['a', 'b'], one: ['x'] },
    n: 5,
    zero: 0,
    f: false,
    nil: null,
  },
  { data: [{ Company: 'A' }, { Company: 'B' }] },
  [{ name: 'a' }, { name: 'b' }],
  { name: 12, mobile: ['13900139000'] },
  'text',
  {},
];
const expressions = [
  'name',
  'data.Company',
  'data.`First Name`',
  'data.list',
  'data.one',
  'n',
  'zero',
  'f',
  'nil',
  'missing.deep',
  '$trim(name)',
  '$digits(mobile)',
  '$cnMobile(mobile)',
  '$trim(data.Company)',
];

/** The value as JSON, or "throws" (JSONata refuses e.g. $trim of a number; the fast path must too). */
async function outcome(run: () => unknown): Promise<string> {
  try {
    return String(JSON.stringify(await run()));
  } catch {
    return 'throws';
  }
}

describe('fast path', () => {
  for (const source of expressions) {
    it(`${source} is fast and agrees with JSONata on every input`, async () => {
      const fast = fastExpression(source);
      expect(fast).not.toBeNull();
      for (const input of inputs) {
        const expected = await outcome(() => jsonata(source).evaluate(input, bindings));
        expect(await outcome(async () => fast!.evaluate(input, bindings)), JSON.stringify(input)).toBe(expected);
      }
    });
  }
  it.each(['name & "x"', '$string(n)', 'a[0]', 'a.b.c = 1', 'true', '$trim(a, b)', 'data.*', '$uppercase(name)'])(
    'leaves %s to JSONata',
    (source) => {
      expect(fastExpression(source)).toBeNull();
    },
  );
});
