/**
 * Where the benchmarks keep Miniflare's storage (D1, KV, queues): on tmpfs when the machine has one. On a disk,
 * SQLite's fsync blocks workerd's one thread and adds its own CPU and noise, which production D1 does not.
 */
import { existsSync } from 'node:fs';

/**
 * A fresh directory on tmpfs (`/dev/shm`) for one run, or undefined where there is none (Miniflare's temporary
 * directory then).
 */
export function benchStorageRoot(name: string): string | undefined {
  return existsSync('/dev/shm') ? `/dev/shm/${name}-${process.pid}` : undefined;
}

/**
 * Miniflare 5's option for a storage root: one directory for every resource. It ignores v3's per-resource
 * `d1Persist`, `kvPersist` and the like without a word (test/node/bench-storage.test.ts checks where the files land).
 */
export function persistOptions(root: string | undefined): { resourcePersistencePath?: string } {
  return root ? { resourcePersistencePath: root } : {};
}
