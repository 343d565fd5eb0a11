/**
 * Each deployable Worker stays under its gzipped budget (it is parsed on every cold start). The build is
 * `wrangler deploy --dry-run` with no build flags, so what is checked is what `npm run deploy` ships
 * (minify and source maps come from the wrangler config); `--outdir` only keeps the file for a second look.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { bundleSize } from '../../bench/bundle.ts';

// The webhook Worker carries the pipeline, the admin API and the queue consumer; the console (its catalogue, views
// and editor) is its own Worker, so it never adds to a webhook's cold start. The schemas use zod/mini (zod classic
// carried its JSON Schema generator into the bundle): see README "Benchmark".
const WORKERS = [
  { config: 'wrangler.toml', budgetKiB: 100, out: 'bench/out/bundle-test' },
  { config: 'wrangler.console.toml', budgetKiB: 150, out: 'bench/out/bundle-test-console' },
];

for (const w of WORKERS) {
  it(`${w.config}: ships less than ${w.budgetKiB} KiB gzipped, as wrangler deploy reports it`, {
    timeout: 120_000,
  }, () => {
    rmSync(w.out, { recursive: true, force: true });
    const build = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '-c', w.config, '--outdir', w.out], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', WRANGLER_LOG: 'log' },
    });
    expect(build.status, build.stderr).toBe(0);
    const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(build.stdout);
    expect(reported, build.stdout).not.toBeNull();
    const [upload, gzip] = [Number(reported![1]), Number(reported![2])];
    const size = bundleSize(w.out);
    console.log(
      `${w.config}: wrangler deploy --dry-run: Total Upload ${upload} KiB / gzip ${gzip} KiB (${size.file}: ${(size.gzip / 1024).toFixed(1)} KiB at gzip -9)`,
    );
    // the file checked is the one wrangler reported: minified (a non-minified build is about 700 KiB)
    expect(Math.abs(size.bytes / 1024 - upload)).toBeLessThan(upload * 0.05);
    expect(gzip).toBeLessThan(w.budgetKiB);
  });
}

it('the webhook Worker holds none of the console (its views are in the console Worker only)', {
  timeout: 120_000,
}, async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const file = readdirSync('bench/out/bundle-test').find((f) => f.endsWith('.js'))!;
  const script = readFileSync(`bench/out/bundle-test/${file}`, 'utf8');
  expect(script).not.toContain('Sign in to the console first');
});
