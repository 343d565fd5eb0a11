/**
 * The documentation cannot drift (scripts/check-docs.ts): links, anchors, `npm run` scripts and the layout's paths
 * resolve, each checker fails on a broken case, and the configuration reference names every key of the endpoint
 * schema.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  anchorOf,
  docProblems,
  layoutProblems,
  linkProblems,
  readDocs,
  scriptProblems,
} from '../../scripts/check-docs.ts';

it('holds for README.md and docs/ as they are', () => {
  expect(docProblems()).toEqual([]);
});

it('README is a front door: at most 250 lines, and every docs page starts with what it answers', () => {
  expect(readFileSync('README.md', 'utf8').split('\n').length).toBeLessThanOrEqual(250);
  for (const d of readDocs().filter((x) => x.path.startsWith('docs/')))
    expect(d.text.split('\n').slice(0, 4).join(' '), d.path).toMatch(/This page answers/);
});

it('finds a link to a missing file, a missing anchor, and an unknown script', () => {
  const docs = [
    {
      path: 'docs/a.md',
      text: '# A page\n\n## Its part\n\nSee [b](b.md), [there](a.md#nowhere), [here](#its-part) and `npm run nope`.\n',
    },
    { path: 'docs/c.md', text: '# C\n' },
  ];
  expect(linkProblems(docs, () => false)).toEqual([
    'docs/a.md: links to b.md, but docs/b.md does not exist',
    'docs/a.md: links to a.md#nowhere, but docs/a.md has no heading #nowhere',
  ]);
  expect(scriptProblems(docs, { test: 'vitest' })).toEqual([
    'docs/a.md: names npm run nope, which package.json does not have',
  ]);
});

it('finds a layout row naming a folder that does not exist', () => {
  const layout = {
    path: 'docs/contributing.md',
    text: '## Layout\n\n| x | `src/pipeline/` | y |\n| x | `src/gone/` | y |\n\n## Next\n',
  };
  expect(layoutProblems(layout, (p) => p === 'src/pipeline')).toEqual([
    'docs/contributing.md: the layout names src/gone/, which does not exist',
  ]);
});

it('makes GitHub’s anchors (punctuation dropped, CJK kept)', () => {
  expect(anchorOf("The CRM's limits")).toBe('the-crms-limits');
  expect(anchorOf('Ordering: one customer at a time')).toBe('ordering-one-customer-at-a-time');
  expect(anchorOf('连接 CRM')).toBe('连接-crm');
});

it('the configuration reference names every key of the endpoint schema (a key added in code but not in the docs fails)', async () => {
  // loaded by path at run time: this file is type-checked as Node code, the schema as Worker code
  const SCHEMA = '../../src/endpoints/schema.ts';
  const { EndpointConfigObject } = (await import(SCHEMA)) as {
    EndpointConfigObject: { shape: Record<string, unknown> };
  };
  const keys = Object.keys(EndpointConfigObject.shape);
  expect(keys.length).toBeGreaterThan(15);
  const reference = readFileSync('docs/configuration.md', 'utf8');
  const missing = keys.filter((k) => !reference.includes(`\`${k}\``));
  expect(missing, 'keys of EndpointConfig the configuration page does not name').toEqual([]);
});
