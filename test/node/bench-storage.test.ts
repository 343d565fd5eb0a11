/**
 * The benchmarks' storage lands where they say it does (on tmpfs): Miniflare 5 ignores v3's `d1Persist` without a
 * word, and the bench once measured SQLite on a disk while its report said tmpfs.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { expect, it } from 'vitest';
import { persistOptions } from '../../bench/storage.ts';

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f));

it('D1 and KV write their SQLite files under the root the bench gives', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-storage-'));
  const script =
    'export default { async fetch(request, env) { await env.DB.exec("CREATE TABLE t (x)"); await env.KV.put("k", "v"); return new Response("ok"); } };';
  const options = {
    modules: true,
    script,
    compatibilityDate: '2026-11-01',
    d1Databases: { DB: 'bench-db' },
    kvNamespaces: { KV: 'bench-kv' },
    ...persistOptions(root),
  };
  const mf = new Miniflare(
    convertV4MiniflareOptions(options as unknown as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  try {
    expect(await (await mf.dispatchFetch('http://bench/')).text()).toBe('ok');
    const sqlite = files(root).filter((f) => f.endsWith('.sqlite'));
    expect(sqlite.some((f) => f.includes(`${path.sep}d1${path.sep}`))).toBe(true);
    expect(sqlite.some((f) => f.includes(`${path.sep}kv${path.sep}`))).toBe(true);
  } finally {
    await mf.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});
