/**
 * `npm run lint` (part of it): readable lines. No line of src/ is wider than 120 columns, as Biome counts them (a
 * Chinese character takes two). Biome wraps code at 120 but never breaks a string or a comment: a long message is
 * written one sentence a line with `sentences()` (src/shared/text.ts), a long SQL statement one clause a line.
 * `node scripts/check-width.ts [root]` prints the lines that are too wide (none: exit 0).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const MAX_COLUMNS = 120;

/** Characters a terminal and Biome draw two columns wide: CJK, Hangul, full-width forms. */
const WIDE = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;

/** How many columns a line takes. */
export function columns(line: string): number {
  let n = 0;
  for (const c of line) n += WIDE.test(c) ? 2 : 1;
  return n;
}

/** The lines of a file wider than MAX_COLUMNS, as `file:line: N columns`. */
export function wideLines(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => {
    const n = columns(line);
    return n > MAX_COLUMNS ? [`${file}:${i + 1}: ${n} columns (at most ${MAX_COLUMNS})`] : [];
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

export function tooWide(root = 'src'): string[] {
  return filesUnder(root).flatMap((file) => wideLines(file, readFileSync(file, 'utf8')));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv[2] ?? 'src';
  const problems = tooWide(root);
  for (const p of problems) console.error(p);
  console.log(
    problems.length
      ? `width: ${problems.length} lines of ${root}/ are wider than ${MAX_COLUMNS} columns`
      : `width: every line of ${root}/ fits in ${MAX_COLUMNS} columns`,
  );
  process.exit(problems.length ? 1 : 0);
}
