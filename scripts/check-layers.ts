/**
 * `npm run lint` (part of it): the folders of src/ point one way. Each folder has a rank; a file may import
 * only from its own folder or from a folder of a lower rank, so no import runs back up and no two folders
 * import each other. A new folder needs a rank here. `node scripts/check-layers.ts [root]` (default src).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { sentences } from '../src/shared/text.ts';

/** Top to bottom: entry points, the pipeline core, storage and configuration, the steps' own modules, helpers. */
export const RANK: Record<string, number> = {
  'index.ts': 6,
  admin: 5, // HTTP entry points: the admin API, the console, the webhook route, the queue and cron handlers
  console: 5,
  entry: 5,
  pipeline: 4, // the core: one webhook or one queued attempt through every step; replay, re-drive, preview
  watch: 4, // the cron's watch over the log: silence alerts, problems, the daily digest
  endpoints: 3, // endpoint configurations: their schema draws on every step below
  deliveries: 2, // the log in D1, idempotency, retention, the retry policy
  mapping: 2,
  secrets: 2,
  team: 3, // who did what: the team's roles, the audit log
  coordination: 1, // one customer at a time and the CRM's limits (Durable Objects)
  crm: 1, // the steps: the CRM client, verification, customers, sender presets, alerts
  verify: 1,
  customers: 1,
  presets: 1,
  notify: 1,
  receive: 0, // reading bodies (limits, content types, lossless JSON), errors and answers
  http: 0,
  'env.ts': 0,
  shared: -1, // small helpers every layer may use (ids, JSON, SQL, zod, the client's IP)
};

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** The top-level folder (or file) of src/ a path belongs to. */
const unitOf = (root: string, path: string) => relative(root, path).split(sep)[0]!;

/** Every import that runs up or sideways between folders, as a sentence; empty when the layers hold. */
export function layerViolations(root: string): string[] {
  const problems: string[] = [];
  for (const file of filesUnder(root)) {
    const from = unitOf(root, file);
    if (RANK[from] === undefined) {
      problems.push(`${relative(root, file)}: the folder "${from}" has no rank in scripts/check-layers.ts`);
      continue;
    }
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = normalize(join(dirname(file), match[1]!));
      const to = unitOf(root, target.endsWith('.ts') || target.endsWith('.tsx') ? target : `${target}.ts`);
      if (to === from || to.startsWith('..')) continue;
      const rank = RANK[to] ?? RANK[to.replace(/\.tsx?$/, '')];
      if (rank === undefined) problems.push(`${relative(root, file)} imports ${match[1]}: "${to}" has no rank`);
      else if (rank >= RANK[from]!)
        problems.push(
          sentences(
            `${relative(root, file)} (${from}, rank ${RANK[from]}) imports ${match[1]} (${to}, rank ${rank}):`,
            `imports may only point down`,
          ),
        );
    }
  }
  return problems;
}

if (import.meta.main) {
  const root = process.argv[2] ?? 'src';
  const problems = layerViolations(root);
  if (problems.length > 0) {
    console.error(
      `${problems.length} import(s) break the layers of ${root}/:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
    process.exit(1);
  }
  console.log(`layers of ${root}/: every import points down (${Object.keys(RANK).length} folders ranked)`);
}
