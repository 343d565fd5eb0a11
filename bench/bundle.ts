import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Size of the deployable Worker in a `wrangler deploy --dry-run --outdir` folder: minified bytes and gzipped. */
export function bundleSize(dir: string): { file: string; bytes: number; gzip: number } {
  const file = readdirSync(dir).find((f) => f.endsWith('.js'));
  if (!file) throw new Error(`no .js in ${dir}`);
  const code = readFileSync(join(dir, file));
  return { file, bytes: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength };
}
