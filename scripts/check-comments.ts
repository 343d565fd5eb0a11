/**
 * `npm run lint` (part of it): comments that stay true. A comment in src/, test/, scripts/ or bench/ that names a
 * path of this repository (`src/…`, `test/…`, `docs/…`, or relative to the file) must name one that exists, so a file
 * moved or removed cannot leave a comment pointing at nothing. `../shared/…` is the team's shared folder, outside the
 * repository, and `bench/out/` holds generated output: neither is checked. `node scripts/check-comments.ts` prints the
 * stale ones (none: exit 0).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const ROOTS = ['src', 'test', 'tools', 'scripts', 'bench'];
const SKIP = /(^|\/)(out|node_modules|fixtures)(\/|$)/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (SKIP.test(path)) return [];
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.(ts|tsx|mjs)$/.test(name) ? [path] : [];
  });
}

/**
 * The comments of a source file: `// …` lines and `/* … *\/` blocks (strings and regular expressions are not parsed:
 * good enough for paths).
 */
export function commentsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\/\*[\s\S]*?\*\/|(?<![:'"`\\])\/\/[^\n]*/g)) out.push(m[0]);
  return out;
}

const REPO_PATH =
  /(?<![\w./-])((?:\.{1,2}\/)+[\w.-]+(?:\/[\w.-]+)*\.(?:tsx|ts|md|json|sql|toml|mjs)(?![\w])|(?:src|test|scripts|bench|docs|migrations|assets|examples|tools)\/[\w.-]+(?:\/[\w.-]+)*\/?)/g;

/** Paths named in a file's comments that do not exist, as `file: names path`. */
export function staleIn(file: string, text: string, exists: (p: string) => boolean = existsSync): string[] {
  const problems: string[] = [];
  for (const comment of commentsOf(text)) {
    for (const m of comment.matchAll(REPO_PATH)) {
      const named = m[1]!.replace(/[.,;:)]+$/, '');
      if (named.startsWith('../shared/') || named.includes('*') || /\.\.\/shared\//.test(named)) continue;
      const path = named.startsWith('.') ? normalize(join(dirname(file), named)) : named.replace(/\/$/, '');
      if (path.startsWith('..') || path.startsWith('bench/out')) continue;
      if (!exists(path)) problems.push(`${file}: a comment names ${named}, which does not exist`);
    }
  }
  return problems;
}

export function staleComments(): string[] {
  return ROOTS.flatMap((root) => filesUnder(root)).flatMap((file) => staleIn(file, readFileSync(file, 'utf8')));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = staleComments();
  for (const p of problems) console.error(p);
  console.log(
    problems.length
      ? `comments: ${problems.length} name a path that does not exist`
      : 'comments: every path a comment names exists',
  );
  process.exit(problems.length ? 1 : 0);
}
