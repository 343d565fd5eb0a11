/**
 * Lossless JSON: the CRM's ids are snowflakes above 2^53, so a JSON number such as
 * 688346218203447296 must survive as the exact string "688346218203447296".
 * `JSON.parse` alone rounds it; workerd passes the reviver the number's source text.
 */

// An integer of 16 or more digits is the only thing that can exceed 2^53 (9007199254740991, 16 digits), and a
// bare JSON number follows `:`, `[` or `,` (and blanks): texts without one take the fast path. A quoted id
// ("crm_id":"688…") is a string already and never needs the reviver; text inside a string that merely looks like
// `: 1234567890123456` only sends that body down the slow path, which is as correct.
// A number written with an exponent, or a negative zero, is kept as its source text too (see keepUnsafeIntegers):
// one pass finds any of the three after `:`, `[` or `,`.
const NEEDS_REVIVER = /[:[,]\s*(?:-?\d{16}|-?\d+(?:\.\d+)?[eE]|-0(?![.\d]))/;
const INTEGER_SOURCE = /^-?\d+$/;

type ReviverContext = { source?: string };

function keepUnsafeIntegers(this: unknown, _key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === 'number' && context?.source) {
    if (!Number.isSafeInteger(value) && INTEGER_SOURCE.test(context.source)) return context.source;
    // `1E+2` or `-0` would otherwise pass for 100 or 0: an id must never be coerced out of another number
    if (/[eE]/.test(context.source) || context.source === '-0') return context.source;
  }
  return value;
}

/**
 * How deep JSON may nest. No form, ad platform or no-code tool sends more than a handful of levels; a body
 * nesting thousands deep (60 KB is enough for 10,000) would overflow the stack of every recursive step after
 * the parse (serialising the row, masking, the mapping), so it is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether the text holds more than `max` `{` and `[` in all: only then can it nest deeper than `max`, and only then
 * is the character-by-character scan run (a form's 100 KiB body usually holds one brace: found with indexOf, natively).
 */
function opensMoreThan(text: string, max: number): boolean {
  let count = 0;
  for (const open of ['{', '[']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) if (++count > max) return true;
  }
  return false;
}

/** Whether the text opens more than `max` arrays or objects inside each other (one linear scan, strings skipped). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // a backslash escapes the next character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/**
 * Parses JSON text, turning every integer beyond 2^53 into its exact decimal string. Throws SyntaxError like
 * `JSON.parse`, also for text nesting deeper than MAX_JSON_DEPTH.
 */
export function parseJsonLossless(text: string): unknown {
  if (opensMoreThan(text, MAX_JSON_DEPTH) && nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new SyntaxError(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (!NEEDS_REVIVER.test(text)) return JSON.parse(text);
  return JSON.parse(text, keepUnsafeIntegers as (this: unknown, key: string, value: unknown) => unknown);
}
