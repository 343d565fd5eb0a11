/**
 * `npm run lint` (part of it): the documentation cannot drift. Every relative link and anchor in README.md and docs/
 * resolves, every `npm run <script>` named exists in package.json, and every path the contributing page's layout
 * table names exists. `node scripts/check-docs.ts` prints the problems (none: exit 0). The configuration reference is
 * checked against the endpoint schema by test/node/docs.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/**
 * GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits, `_`, `-` and spaces kept), spaces as
 * `-`.
 */
export const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');

const withoutCode = (text: string) => text.replace(/```[\s\S]*?```/g, '');

export function anchorsIn(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of withoutCode(text).matchAll(/^#{1,6} (.+)$/gm)) out.add(anchorOf(m[1]!.replace(/`/g, '')));
  return out;
}

export type Doc = { path: string; text: string };

/** Broken relative links and anchors, as sentences naming the file and the link. */
export function linkProblems(docs: Doc[], exists: (path: string) => boolean = existsSync): string[] {
  const byPath = new Map(docs.map((d) => [normalize(d.path), d.text]));
  const problems: string[] = [];
  for (const doc of docs) {
    for (const m of withoutCode(doc.text).matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target) || target.startsWith('/')) continue;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const path = file ? normalize(join(dirname(doc.path), file)) : normalize(doc.path);
      if (file && !byPath.has(path) && !exists(path)) {
        problems.push(`${doc.path}: links to ${target}, but ${path} does not exist`);
        continue;
      }
      if (anchor !== undefined && path.endsWith('.md')) {
        const text = byPath.get(path) ?? readFileSync(path, 'utf8');
        if (!anchorsIn(text).has(anchor))
          problems.push(`${doc.path}: links to ${target}, but ${path} has no heading #${anchor}`);
      }
    }
  }
  return problems;
}

/** `npm run <name>` in the docs that package.json does not have. */
export function scriptProblems(docs: Doc[], scripts: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const doc of docs)
    for (const m of doc.text.matchAll(/npm run ([a-z][\w:-]*)/g))
      if (!(m[1]! in scripts)) problems.push(`${doc.path}: names npm run ${m[1]}, which package.json does not have`);
  return [...new Set(problems)];
}

/** Paths in the layout table (`src/…`, `test/…`, `scripts/…`, `bench/…`, `tools/…`) that do not exist. */
export function layoutProblems(layout: Doc, exists: (path: string) => boolean = existsSync): string[] {
  const table = layout.text.slice(
    layout.text.indexOf('## Layout'),
    layout.text.indexOf('\n## ', layout.text.indexOf('## Layout') + 1),
  );
  const problems: string[] = [];
  for (const m of table.matchAll(/`((?:src|test|scripts|bench|tools|assets|migrations|examples)\/[^`*\s]*)`/g)) {
    const path = m[1]!.replace(/\/$/, '');
    if (!exists(path)) problems.push(`${layout.path}: the layout names ${m[1]}, which does not exist`);
  }
  return problems;
}

export function readDocs(): Doc[] {
  return [
    { path: 'README.md', text: readFileSync('README.md', 'utf8') },
    ...readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => ({ path: `docs/${f}`, text: readFileSync(`docs/${f}`, 'utf8') })),
  ];
}

export function docProblems(): string[] {
  const docs = readDocs();
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  return [
    ...linkProblems(docs),
    ...scriptProblems(docs, scripts),
    ...layoutProblems(docs.find((d) => d.path === 'docs/contributing.md')!),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = docProblems();
  for (const p of problems) console.error(p);
  console.log(
    problems.length
      ? `docs: ${problems.length} problem(s)`
      : 'docs: every link, anchor, script and layout path resolves',
  );
  process.exit(problems.length ? 1 : 0);
}
