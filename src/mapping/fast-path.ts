/**
 * A fast path for the expressions most mappings are made of: a plain path (`name`, `data.Company`,
 * ``fields.`手机号` ``) or one of `$trim`, `$digits`, `$cnMobile` applied to one. They are evaluated by
 * property access, with no JSONata compilation or evaluation: the bulk of a mapping's CPU. Whenever
 * the data is not what the fast path knows JSONata does with certainty (an array on the way, a value
 * that is an array, a root that is not an object), it hands over to JSONata, compiled on first need.
 */
import { cnMobile, digits } from './helpers';
import { compileBudgeted } from './budget';

export type Expression = { evaluate(input: unknown, bindings?: Record<string, unknown>): unknown };

const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)/;
const RESERVED = new Set(['true', 'false', 'null', 'and', 'or', 'in']);

/** JSONata's $trim: whitespace runs become one space, then the ends are trimmed. */
const jsonataTrim = (s: string) => s.replace(/[ \t\n\r]+/g, ' ').trim();

const FUNCTIONS: Record<string, (v: unknown) => { ok: true; value: unknown } | { ok: false }> = {
  trim: (v) =>
    v === undefined
      ? { ok: true, value: undefined }
      : typeof v === 'string'
        ? { ok: true, value: jsonataTrim(v) }
        : { ok: false },
  digits: (v) => (Array.isArray(v) ? { ok: false } : { ok: true, value: digits(v) }),
  cnMobile: (v) => (Array.isArray(v) ? { ok: false } : { ok: true, value: cnMobile(v) }),
};

/** The segments of a plain path, or null. */
function parsePath(text: string): string[] | null {
  const segments: string[] = [];
  let rest = text.trim();
  for (;;) {
    const m = SEGMENT.exec(rest);
    if (!m) return null;
    const raw = m[0];
    if (!raw.startsWith('`') && RESERVED.has(raw)) return null;
    segments.push(raw.startsWith('`') ? raw.slice(1, -1) : raw);
    rest = rest.slice(raw.length);
    if (rest === '') return segments;
    if (rest[0] !== '.') return null;
    rest = rest.slice(1);
  }
}

const FALLBACK = Symbol('fallback');

function walk(input: unknown, path: string[]): unknown {
  let node = input;
  for (const key of path) {
    if (node === undefined || node === null) return undefined;
    if (typeof node !== 'object' || Array.isArray(node)) return FALLBACK;
    node = (node as Record<string, unknown>)[key];
  }
  return Array.isArray(node) ? FALLBACK : node;
}

/** A fast expression for `source`, or null when it is not one the fast path covers. */
export function fastExpression(source: string): Expression | null {
  const call = /^\s*\$(trim|digits|cnMobile)\((.*)\)\s*$/s.exec(source);
  const fn = call ? FUNCTIONS[call[1]!] : undefined;
  const path = parsePath(call ? call[2]! : source);
  if (!path || (call && !fn)) return null;
  let compiled: Expression | undefined;
  const slow = (input: unknown, bindings?: Record<string, unknown>) => {
    compiled ??= compileBudgeted(source);
    return compiled.evaluate(input, bindings);
  };
  return {
    evaluate(input, bindings) {
      if (input === null || typeof input !== 'object' || Array.isArray(input)) return slow(input, bindings);
      const value = walk(input, path);
      if (value === FALLBACK) return slow(input, bindings);
      if (!fn) return value;
      const out = fn(value);
      return out.ok ? out.value : slow(input, bindings);
    },
  };
}
