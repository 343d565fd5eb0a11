/**
 * Lossless JSON: the CRM's ids are snowflakes above 2^53, so a JSON number such as
 * 688346218203447296 must survive as the exact string "688346218203447296".
 * `JSON.parse` alone rounds it; workerd passes the reviver the number's source text.
 */

// An integer of 16 or more digits is the only thing that can exceed 2^53 (9007199254740991, 16 digits).
// Texts without one take the fast path.
const LONG_INTEGER = /\d{16}/;
const INTEGER_SOURCE = /^-?\d+$/;

type ReviverContext = { source?: string };

function keepUnsafeIntegers(this: unknown, _key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && INTEGER_SOURCE.test(context.source)) {
    return context.source;
  }
  return value;
}

/** Parses JSON text, turning every integer beyond 2^53 into its exact decimal string. Throws SyntaxError like `JSON.parse`. */
export function parseJsonLossless(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return JSON.parse(text, keepUnsafeIntegers as (this: unknown, key: string, value: unknown) => unknown);
}
