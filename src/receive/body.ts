import { parseJsonLossless } from './json';
import { sentences } from '../shared/text';

/** The default body limit; an endpoint may raise it up to MAX_BODY_LIMIT with `maxBodyBytes`. */
export const DEFAULT_BODY_LIMIT = 256 * 1024;
export const MAX_BODY_LIMIT = 1024 * 1024;

export type BodyFailure =
  | { ok: false; reason: 'payload_too_large'; message: string }
  | { ok: false; reason: 'unsupported_media_type'; message: string }
  | { ok: false; reason: 'invalid_body'; message: string };

export type BodyKind = 'json' | 'form' | 'multipart';

/** Reads the raw bytes of a request body, refusing to buffer more than `limit` bytes. */
export async function readRawBody(
  request: Request,
  limit: number,
): Promise<{ ok: true; bytes: Uint8Array } | BodyFailure> {
  const tooLarge = { ok: false, reason: 'payload_too_large', message: `Body exceeds ${limit} bytes` } as const;
  const declared = Number(request.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > limit) return tooLarge;
  if (!request.body) return { ok: true, bytes: new Uint8Array(0) };
  // a declared length within the limit: one native read (over HTTP the runtime frames the body by it; the limit is
  // still checked on what arrived, for a caller that declared less than it sent)
  if (request.headers.has('content-length') && Number.isFinite(declared)) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    return bytes.byteLength > limit ? tooLarge : { ok: true, bytes };
  }

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return tooLarge;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return { ok: true, bytes: chunks[0]! };
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes };
}

/** Which parser a Content-Type calls for; `null` when the adapter cannot read it. */
export function bodyKindOf(contentType: string | null, text: string): BodyKind | null {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  switch (type) {
    case 'application/json':
    case 'text/json':
    case 'text/plain': // Zapier "raw" steps and some form tools send JSON as text/plain
      return 'json';
    case 'application/x-www-form-urlencoded':
      return 'form';
    case 'multipart/form-data':
      return 'multipart';
    case '':
      return /^\s*[[{]/.test(text) ? 'json' : 'form';
    default:
      return type.endsWith('+json') ? 'json' : null;
  }
}

export type ParsedBody = { ok: true; kind: BodyKind; value: unknown; warnings: string[] };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes the body as UTF-8 text; `null` when it is not valid UTF-8. */
export function decodeText(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

/** The JSON object or array a form-encoded body really is (it starts with `{` or `[` and parses), else undefined. */
function jsonSentAsForm(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    const value = parseJsonLossless(text);
    return value !== null && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Adds one form value under `key`; a repeated key (checkbox groups) becomes an array. */
function addField(target: Record<string, unknown>, key: string, value: string) {
  const name = key.endsWith('[]') ? key.slice(0, -2) : key;
  const existing = target[name];
  if (existing === undefined) target[name] = key.endsWith('[]') ? [value] : value;
  else if (Array.isArray(existing)) existing.push(value);
  else target[name] = [existing, value];
}

/**
 * Parses a body by content type into the value the mapping sees:
 * JSON (lossless ids), or an object of form fields (repeated keys become arrays; multipart files are skipped with a
 * warning).
 */
export async function parseBody(
  bytes: Uint8Array,
  contentType: string | null,
  decoded?: string | null,
): Promise<ParsedBody | BodyFailure> {
  // `decoded`: the text when the caller has decoded the bytes already (a body is decoded once per webhook)
  const text = decoded === undefined ? decodeText(bytes) : decoded;
  if (text === null) return { ok: false, reason: 'invalid_body', message: 'Body is not valid UTF-8' };
  const kind = bodyKindOf(contentType, text);
  if (kind === null) {
    return {
      ok: false,
      reason: 'unsupported_media_type',
      message: sentences(
        `Content-Type ${contentType} is not supported;`,
        'send application/json, application/x-www-form-urlencoded or multipart/form-data',
      ),
    };
  }
  const warnings: string[] = [];
  switch (kind) {
    case 'json': {
      if (text.trim() === '') return { ok: false, reason: 'invalid_body', message: 'Body is empty' };
      try {
        const value = parseJsonLossless(text);
        if (value === null || typeof value !== 'object') {
          return { ok: false, reason: 'invalid_body', message: 'JSON body must be an object or an array' };
        }
        return { ok: true, kind, value, warnings };
      } catch (err) {
        return { ok: false, reason: 'invalid_body', message: `Body is not valid JSON: ${(err as Error).message}` };
      }
    }
    case 'form': {
      // JSON sent under a form's content type (`curl -d '{…}'`, some no-code tools): read as the JSON it is
      const json = jsonSentAsForm(text);
      if (json !== undefined) {
        warnings.push(
          sentences(
            `the body is JSON sent as ${contentType?.split(';')[0]?.trim()}: read as JSON`,
            '(set Content-Type: application/json at the sender)',
          ),
        );
        return { ok: true, kind: 'json', value: json, warnings };
      }
      const value: Record<string, unknown> = {};
      for (const [key, field] of new URLSearchParams(text)) addField(value, key, field);
      return { ok: true, kind, value, warnings };
    }
    case 'multipart': {
      let form: FormData;
      try {
        form = await new Response(bytes, { headers: { 'content-type': contentType! } }).formData();
      } catch {
        return { ok: false, reason: 'invalid_body', message: 'Body is not valid multipart/form-data' };
      }
      const value: Record<string, unknown> = {};
      for (const [key, field] of form) {
        if (typeof field === 'string') addField(value, key, field);
        else warnings.push(`file field "${key}" ignored: only text fields are mapped`);
      }
      return { ok: true, kind, value, warnings };
    }
  }
}
