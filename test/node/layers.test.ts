/** The layer check of `npm run lint` catches an import that runs back up, and a folder without a rank. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { layerViolations } from '../../scripts/check-layers.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

it('holds for src/ as it is', () => {
  expect(layerViolations('src')).toEqual([]);
});

it('refuses an import from a lower folder up into the pipeline core', () => {
  const root = tree({
    'pipeline/webhook.ts': "import { x } from '../deliveries/store';\n",
    'deliveries/store.ts': "import { enqueue } from '../pipeline/webhook';\nexport const x = 1;\n",
  });
  expect(layerViolations(root)).toEqual([
    'deliveries/store.ts (deliveries, rank 2) imports ../pipeline/webhook (pipeline, rank 4): imports may only point down',
  ]);
});

it('refuses the console importing the admin API (same rank: sideways)', () => {
  const root = tree({
    'console/index.tsx': "import { a } from '../admin/preview';\n",
    'admin/preview.ts': 'export const a = 1;\n',
  });
  expect(layerViolations(root)[0]).toContain('imports ../admin/preview (admin, rank 5)');
});

it('asks for a rank for a new folder', () => {
  const root = tree({ 'utils/x.ts': 'export const y = 1;\n' });
  expect(layerViolations(root)).toEqual(['utils/x.ts: the folder "utils" has no rank in scripts/check-layers.ts']);
});
