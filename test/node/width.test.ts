/** The width check of `npm run lint`: a line wider than 120 columns is found (Chinese counted double); src/ holds. */
import { expect, it } from 'vitest';
import { columns, tooWide, wideLines } from '../../scripts/check-width.ts';

it('holds for src/ as it is', () => {
  expect(tooWide('src')).toEqual([]);
});

it('counts a Chinese character as two columns, as Biome does', () => {
  expect(columns('abc')).toBe(3);
  expect(columns('接收地址：ok')).toBe(12);
});

it('finds a line over 120 columns, and only that one', () => {
  const text = ['const short = 1;', `const long = '${'x'.repeat(110)}';`, `// ${'中'.repeat(58)}`].join('\n');
  expect(wideLines('src/a.ts', text)).toEqual(['src/a.ts:2: 126 columns (at most 120)']);
  expect(wideLines('src/b.ts', `// ${'中'.repeat(59)}`)).toEqual(['src/b.ts:1: 121 columns (at most 120)']);
});
