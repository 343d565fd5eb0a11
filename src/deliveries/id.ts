const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A delivery id that sorts by time: 10 characters of millisecond timestamp, then 16 random ones
 * (a ULID in lower case), so "newest first" is `ORDER BY id DESC` and a cursor is just an id.
 */
export function newDeliveryId(now: number = Date.now()): string {
  const time = timePart(now);
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = '';
  for (const byte of random) tail += ALPHABET[byte % 32];
  return `${time}${tail}`;
}

function timePart(ms: number): string {
  let time = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

/** The lowest id of a millisecond: `id >= idFloor(t)` is "received at or after t", through the primary key. */
export const idFloor = (ms: number): string => `${timePart(ms)}0000000000000000`;
