const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A delivery id that sorts by time: 10 characters of millisecond timestamp, then 16 random ones
 * (a ULID in lower case), so "newest first" is `ORDER BY id DESC` and a cursor is just an id.
 */
export function newDeliveryId(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = '';
  for (const byte of random) tail += ALPHABET[byte % 32];
  return `${time}${tail}`;
}
