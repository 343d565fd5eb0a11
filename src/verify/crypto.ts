/** Constant-time comparison and digest helpers on WebCrypto; nothing here branches on secret bytes. */

const encoder = new TextEncoder();

export type Bytes = Uint8Array<ArrayBuffer>;

export function utf8(text: string): Bytes {
  return encoder.encode(text) as Bytes;
}

async function sha256(data: Bytes): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', data);
}

/**
 * Compares two values in constant time. Both sides are hashed first, so the comparison
 * always runs on 32 bytes: workerd's `timingSafeEqual` throws on unequal lengths, and a
 * length check would leak the secret's length.
 */
export async function safeEqual(a: Bytes | string, b: Bytes | string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    sha256(typeof a === 'string' ? utf8(a) : a),
    sha256(typeof b === 'string' ? utf8(b) : b),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

export type HashAlgorithm = 'sha256' | 'sha1';
const WEBCRYPTO_NAME: Record<HashAlgorithm, string> = { sha256: 'SHA-256', sha1: 'SHA-1' };

/** Imported HMAC keys, per algorithm and secret, for this isolate (a key is imported once, not per webhook). */
const hmacKeys = new Map<string, Promise<CryptoKey>>();
const MAX_HMAC_KEYS = 256;

function hmacKey(algorithm: HashAlgorithm, secret: Bytes): Promise<CryptoKey> {
  const id = `${algorithm}:${String.fromCharCode(...secret)}`;
  let key = hmacKeys.get(id);
  if (!key) {
    if (hmacKeys.size >= MAX_HMAC_KEYS) hmacKeys.clear();
    key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: WEBCRYPTO_NAME[algorithm] }, false, ['sign']);
    // a failed import is not remembered
    key.catch(() => hmacKeys.delete(id));
    hmacKeys.set(id, key);
  }
  return key;
}

/** HMAC of `data` keyed with `secret`. */
export async function hmac(algorithm: HashAlgorithm, secret: Bytes, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(algorithm, secret), data));
}

/** Plain hash of `data`. */
export async function digest(algorithm: HashAlgorithm, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest(WEBCRYPTO_NAME[algorithm], data));
}

export type Encoding = 'hex' | 'base64';

/** Decodes a hex or base64 (also base64url) signature; `null` when it is not well formed. */
export function decodeSignature(text: string, encoding: Encoding): Bytes | null {
  const value = text.trim();
  if (encoding === 'hex') {
    if (value.length === 0 || value.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(value)) return null;
    const out = new Uint8Array(value.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(value.slice(i * 2, i * 2 + 2), 16);
    return out;
  }
  if (value.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return null;
  try {
    const binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Encodes bytes as lower-case hex or standard base64. */
export function encodeBytes(bytes: Uint8Array, encoding: Encoding): string {
  if (encoding === 'hex') return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Joins byte arrays. */
export function concatBytes(parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
