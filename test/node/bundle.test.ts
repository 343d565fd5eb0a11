/**
 * The deployable Worker stays under its gzipped budget (it is parsed on every cold start). The build is
 * `wrangler deploy --dry-run` with no build flags, so what is checked is what `npm run deploy` ships
 * (minify and source maps come from wrangler.toml); `--outdir` only keeps the file for a second look.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { bundleSize } from '../../bench/bundle.ts';

// The console and its pages share the Worker; the schemas use zod/mini (zod classic carried its JSON Schema
// generator into the bundle): see README "Benchmark".
const BUDGET_KIB = 100;
const OUT = 'bench/out/bundle-test';

it(`ships less than ${BUDGET_KIB} KiB gzipped, as wrangler deploy reports it`, { timeout: 120_000 }, () => {
  rmSync(OUT, { recursive: true, force: true });
  const build = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', OUT], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  expect(build.status, build.stderr).toBe(0);
  const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(build.stdout);
  expect(reported, build.stdout).not.toBeNull();
  const [upload, gzip] = [Number(reported![1]), Number(reported![2])];
  const size = bundleSize(OUT);
  console.log(`wrangler deploy --dry-run: Total Upload ${upload} KiB / gzip ${gzip} KiB (${size.file}: ${(size.gzip / 1024).toFixed(1)} KiB at gzip -9)`);
  // the file checked is the one wrangler reported: minified (a non-minified build is about 700 KiB)
  expect(Math.abs(size.bytes / 1024 - upload)).toBeLessThan(upload * 0.05);
  expect(gzip).toBeLessThan(BUDGET_KIB);
});
