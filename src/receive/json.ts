/**
 * Lossless JSON: the CRM's ids are snowflakes above 2^53, so a JSON number such as
 * 688346218203447296 must survive as the exact string "688346218203447296".
 * `JSON.parse` alone rounds it; workerd passes the reviver the number's source text.
 */

// Parsed plainly first; the text is parsed again with the reviver only when a number in it may differ from its
// source: an integer beyond 2^53 (rounded), a negative zero, or, when there are numbers at all, an exponent (`1E+2`
// would pass for 100). A body without numbers (every form's) is never scanned; a quoted id ("crm_id":"688…") is a
// string and never needs the reviver. Text inside a string that merely looks like `1e5` only sends that body down
// the slow path, which is as correct.
const MAY_HOLD_EXPONENT = /\d[eE]/;
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
  if (opensMoreThan(text, MAX_JSON_DEPTH) && nestsDeeperThan(text, MAX_JSON_DEPTH))
    throw new SyntaxError(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  const value: unknown = JSON.parse(text);
  const numbers = numbersIn(value);
  if (numbers === NONE || (numbers === EXACT && !MAY_HOLD_EXPONENT.test(text))) return value;
  return JSON.parse(text, keepUnsafeIntegers as (this: unknown, key: string, value: unknown) => unknown);
}

/**
 * What a parsed value's numbers need: NONE (there are none), EXACT (their source only if one was written with an
 * exponent), UNSAFE (their source: one is beyond 2^53 or a negative zero).
 */
type Numbers = 0 | 1 | 2;
const NONE = 0;
const EXACT = 1;
const UNSAFE = 2;

/**
 * The numbers of a parsed value (nesting is bounded by MAX_JSON_DEPTH before this runs; strings are skipped unread).
 */
function numbersIn(value: unknown): Numbers {
  if (typeof value === 'number')
    return (Number.isInteger(value) && !Number.isSafeInteger(value)) || Object.is(value, -0) ? UNSAFE : EXACT;
  if (value === null || typeof value !== 'object') return NONE;
  let found: Numbers = NONE;
  const visit = (item: unknown): boolean => {
    if (typeof item === 'string') return false;
    const inner = numbersIn(item);
    if (inner > found) found = inner;
    return found === UNSAFE;
  };
  if (Array.isArray(value)) {
    for (const item of value) if (visit(item)) break;
  } else {
    for (const key in value) if (visit((value as Record<string, unknown>)[key])) break;
  }
  return found;
}
