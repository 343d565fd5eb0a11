/**
 * Secrets set through the admin API (`PUT /admin/secrets/{name}`), stored in KV encrypted with
 * AES-256-GCM. The key is derived (HKDF-SHA-256) from the Worker secret `SECRETS_KEY`; the KV key
 * is bound in as additional data, so a ciphertext copied under another name does not decrypt.
 * Values are write-only: nothing here returns them except `readSecret`, which the pipeline uses.
 */
import { decodeSignature, encodeBytes, utf8 } from '../verify/crypto';
import { IsolateCache } from '../shared/cache';

const PREFIX = 'v1:secret:';
const keyOf = (name: string) => `${PREFIX}${name}`;
/** The shortest SECRETS_KEY accepted: 32 characters (e.g. `openssl rand -base64 32`). */
export const MIN_MASTER_KEY_LENGTH = 32;

/** `previous`: the value replaced by the last write, still accepted until `until` (ms) during a rotation. */
type Sealed = { v: 1; iv: string; ct: string; updatedAt: string; previous?: { iv: string; ct: string; until: number } };

/** A stored secret as the pipeline uses it: its value, and the previous one while its grace window lasts. */
export type SecretValues = { value: string; previous?: { value: string; until: number } };

/** How long a replaced value stays valid by default (Svix keeps the previous secret 24 h too). */
export const DEFAULT_GRACE_HOURS = 24;
/** The longest grace window a rotation may ask for. */
export const MAX_GRACE_HOURS = 24 * 30;

export class VaultError extends Error {}

const b64 = (bytes: Uint8Array) => encodeBytes(bytes, 'base64');
const unb64 = (text: string) => decodeSignature(text, 'base64') ?? new Uint8Array(0);

let cached: { master: string; key: Promise<CryptoKey> } | undefined;

/** The AES key for a master key, derived once per isolate. */
function aesKey(master: string): Promise<CryptoKey> {
  if (cached?.master !== master) {
    const key = crypto.subtle
      .importKey('raw', utf8(master), 'HKDF', false, ['deriveKey'])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: utf8('crm-webhook-adapter'), info: utf8('endpoint secrets v1') },
          base,
          { name: 'AES-GCM', length: 256 },
          false,
          ['encrypt', 'decrypt'],
        ),
      );
    cached = { master, key };
  }
  return cached.key;
}

/** `SECRETS_KEY` when it is usable, otherwise why not. */
export function masterKey(env: { SECRETS_KEY?: string }): { ok: true; key: string } | { ok: false; message: string } {
  const key = env.SECRETS_KEY;
  if (!key)
    return {
      ok: false,
      message: 'SECRETS_KEY is not set: run `wrangler secret put SECRETS_KEY` with `openssl rand -base64 32`',
    };
  if (key.length < MIN_MASTER_KEY_LENGTH)
    return { ok: false, message: `SECRETS_KEY is shorter than ${MIN_MASTER_KEY_LENGTH} characters` };
  return { ok: true, key };
}

/**
 * Encrypts and stores a secret; returns when it was written and until when the value it replaced stays valid
 * (`graceMs` 0: revoked at once). The replaced value keeps its own ciphertext (same name, so the same key binding).
 */
export async function writeSecret(
  kv: KVNamespace,
  master: string,
  name: string,
  value: string,
  graceMs = DEFAULT_GRACE_HOURS * 3_600_000,
  now = Date.now(),
): Promise<{ updatedAt: string; previousUntil: number | null }> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: utf8(keyOf(name)) },
      await aesKey(master),
      utf8(value),
    ),
  );
  const old = await kv.get<Sealed>(keyOf(name), 'json');
  const previous = old && graceMs > 0 ? { iv: old.iv, ct: old.ct, until: now + graceMs } : undefined;
  const sealed: Sealed = {
    v: 1,
    iv: b64(iv),
    ct: b64(ct),
    updatedAt: new Date(now).toISOString(),
    ...(previous ? { previous } : {}),
  };
  await kv.put(keyOf(name), JSON.stringify(sealed), {
    metadata: { updatedAt: sealed.updatedAt, previousUntil: previous?.until ?? null },
  });
  values.delete(name);
  return { updatedAt: sealed.updatedAt, previousUntil: previous?.until ?? null };
}

// Decrypted values are kept in the isolate for CACHE_MS, like endpoint configurations: no KV read per
// webhook. PUT and DELETE through the admin API clear this isolate's copy at once.
const CACHE_MS = 10_000;
const values = new IsolateCache<SecretValues | undefined>(CACHE_MS, 500);

/** `readSecret` through the isolate's short cache; a previous value past its window is dropped at each use. */
export async function readSecretCached(
  kv: KVNamespace,
  master: string | undefined,
  name: string,
  now = Date.now(),
): Promise<SecretValues | undefined> {
  const hit = values.get(name, now);
  const found = hit ? hit.value : await readSecret(kv, master, name);
  if (!hit) values.set(name, found, now);
  if (found?.previous && found.previous.until <= now) return { value: found.value };
  return found;
}

/**
 * Decrypts a stored secret; `undefined` when there is none. Throws `VaultError` when one is stored
 * but cannot be read (no SECRETS_KEY, or a different one): the endpoint then refuses as misconfigured.
 */
export async function readSecret(
  kv: KVNamespace,
  master: string | undefined,
  name: string,
): Promise<SecretValues | undefined> {
  const sealed = await kv.get<Sealed>(keyOf(name), { type: 'json', cacheTtl: 60 });
  if (sealed === null) return undefined;
  if (!master) throw new VaultError(`secret ${name} is stored encrypted but SECRETS_KEY is not set`);
  const open = async (part: { iv: string; ct: string }) => {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: unb64(part.iv), additionalData: utf8(keyOf(name)) },
      await aesKey(master),
      unb64(part.ct),
    );
    return new TextDecoder().decode(plain);
  };
  try {
    const value = await open(sealed);
    return sealed.previous
      ? { value, previous: { value: await open(sealed.previous), until: sealed.previous.until } }
      : { value };
  } catch {
    throw new VaultError(`secret ${name} cannot be decrypted with the current SECRETS_KEY (was the key changed?)`);
  }
}

/** A stored secret as listed: never its value; `previousUntil` while a replaced value is still accepted. */
export type ListedSecret = { name: string; updatedAt: string | null; previousUntil: string | null };

/** Names and update times of the stored secrets (never their values). */
export async function listSecrets(kv: KVNamespace, now = Date.now()): Promise<ListedSecret[]> {
  const out: ListedSecret[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list<{ updatedAt?: string; previousUntil?: number | null }>({ prefix: PREFIX, cursor });
    for (const key of page.keys) {
      const until = key.metadata?.previousUntil;
      const previousUntil = typeof until === 'number' && until > now ? new Date(until).toISOString() : null;
      out.push({ name: key.name.slice(PREFIX.length), updatedAt: key.metadata?.updatedAt ?? null, previousUntil });
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

/** Until when one stored secret's replaced value is still accepted (ISO), from its KV metadata; null when none. */
export async function previousValidUntil(kv: KVNamespace, name: string, now = Date.now()): Promise<string | null> {
  const { metadata } = await kv.getWithMetadata<{ previousUntil?: number | null }>(keyOf(name));
  const until = metadata?.previousUntil;
  return typeof until === 'number' && until > now ? new Date(until).toISOString() : null;
}

/** Deletes a stored secret; `false` when there was none. */
export async function deleteSecret(kv: KVNamespace, name: string): Promise<boolean> {
  if ((await kv.get(keyOf(name))) === null) return false;
  await kv.delete(keyOf(name));
  values.delete(name);
  return true;
}
