/** Masking rules, as plain functions. */
import { describe, expect, it } from 'vitest';
import { maskValue, redactPaths, scrubText, sensitiveForms } from '../../src/deliveries/redact';

describe('maskValue', () => {
  it.each([
    ['13800138000', '138****8000'],
    ['+86 138-0013-8000', '138****8000'],
    ['+1 (415) 555-0100', '141****0100'],
    [13800138000, '138****8000'],
    ['wu.jiu@example.com', 'w***@example.com'],
    ['吴九', '***'],
    ['12', '***'],
  ])('%s -> %s', (input, masked) => expect(maskValue(input)).toBe(masked));
});

describe('redactPaths', () => {
  it('masks nested paths and wildcards, and leaves the input alone', () => {
    const input = {
      a: { phone: '13800138000' },
      answers: [{ phone_number: '13900139000' }, { phone_number: '' }],
      other: 'x',
    };
    const { value, originals } = redactPaths(input, ['a.phone', 'answers.*.phone_number', 'missing.path']);
    expect(value).toEqual({
      a: { phone: '138****8000' },
      answers: [{ phone_number: '139****9000' }, { phone_number: '' }],
      other: 'x',
    });
    expect(originals).toEqual(['13800138000', '13900139000']);
    expect(input.a.phone).toBe('13800138000');
  });
  it('masks an object named by a path whole', () => {
    expect(redactPaths({ address: { city: '上海', street: '南京路' } }, ['address']).value).toEqual({ address: '***' });
  });
});

describe('scrubbing a masked value elsewhere', () => {
  it('finds the number in its digits-only and local forms', () => {
    const forms = sensitiveForms(['+86 138-0013-8000']);
    expect(scrubText('{"phone":"13800138000","raw":"+86 138-0013-8000","all":"8613800138000"}', forms)).not.toMatch(
      /0013|13800138000/,
    );
  });
});
