/**
 * A small per-isolate cache of values read from KV, each kept for `ttlMs` (the webhook path must not pay a KV
 * read per request), bounded to `max` entries (the oldest goes first). Admin writes delete their key at once.
 */
export class IsolateCache<V> {
  private readonly entries = new Map<string, { at: number; value: V }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  /** The cached value, or `undefined` when there is none or it is older than the TTL. */
  get(key: string, now: number): { value: V } | undefined {
    const hit = this.entries.get(key);
    return hit && now - hit.at < this.ttlMs ? { value: hit.value } : undefined;
  }

  set(key: string, value: V, now: number): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { at: now, value });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
