/**
 * Per-endpoint masking of personal data in what the log stores (`redact`: field paths).
 * A path is dot-separated keys; `*` matches every key of an object or every element of an array
 * (`answers.*.phone_number`). Phone numbers keep their first 3 and last 4 digits (`138****8000`, also from `+86
 * 138-0013-8000`), e-mail addresses their first character and domain (`w***@example.com`), anything else becomes `***`.
 */
import { mapStrings } from '../shared/json';

const PHONE = /^\+?[\d\s().-]{7,}$/;
const EMAIL = /^([^@\s])[^@\s]*@([^@\s]+)$/;

/** The masked form of one value. */
export function maskValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value.trim()
      : typeof value === 'number' || typeof value === 'bigint'
        ? String(value)
        : '';
  if (PHONE.test(text)) {
    // a Chinese mobile keeps its own first digits, not the country code's
    const digits = text.replace(/\D/g, '').replace(/^(0086|86)(?=1\d{10}$)/, '');
    if (digits.length >= 7) return `${digits.slice(0, 3)}${'*'.repeat(digits.length - 7)}${digits.slice(-4)}`;
  }
  const email = EMAIL.exec(text);
  if (email) return `${email[1]}***@${email[2]}`;
  return '***';
}

/**
 * Copies `value` with every path in `paths` masked; `originals` collects the masked strings (to scrub them elsewhere).
 */
export function redactPaths(value: unknown, paths: string[]): { value: unknown; originals: string[] } {
  const originals: string[] = [];
  let out = structuredClone(value);
  for (const path of paths) out = maskAt(out, path.split('.'), originals);
  return { value: out, originals };
}

function maskAt(node: unknown, path: string[], originals: string[]): unknown {
  if (path.length === 0) {
    if (node === null || node === undefined || node === '') return node;
    if (Array.isArray(node)) return node.map((n) => maskAt(n, [], originals));
    if (typeof node === 'object') return '***';
    originals.push(String(node));
    return maskValue(node);
  }
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(node)) {
    if (head === '*') return node.map((n) => maskAt(n, rest, originals));
    const index = Number(head);
    if (Number.isInteger(index) && index >= 0 && index < node.length)
      node[index] = maskAt(node[index], rest, originals);
    return node;
  }
  if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const key of head === '*' ? Object.keys(record) : [head]) {
      if (Object.hasOwn(record, key)) record[key] = maskAt(record[key], rest, originals);
    }
  }
  return node;
}

/**
 * The strings to hide wherever else a masked value may reappear (the CRM request, the CRM's answer):
 * each original, and for phone numbers their digits with and without the 86 prefix.
 */
export function sensitiveForms(originals: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const original of originals) {
    const text = original.trim();
    // too short to hide elsewhere without hiding everything ("A", "1"); two Chinese characters are a whole name
    if (text.length < 2 || (text.length < 3 && !/[^ -~]/.test(text))) continue;
    const masked = maskValue(text);
    out.set(text, masked);
    if (PHONE.test(text)) {
      const digits = text.replace(/\D/g, '');
      if (digits.length >= 7) out.set(digits, masked);
      if (/^(0086|86)1\d{10}$/.test(digits)) {
        const local = digits.replace(/^(0086|86)/, '');
        out.set(local, maskValue(local));
      }
    }
  }
  return out;
}

/** Up to this many values, each is also found inside longer text (one linear pass per value). */
const MAX_SUBSTRING_FORMS = 32;
// a JSON string (its contents in group 1), or a run of digits that may be a phone number written any way
const STRING_OR_DIGITS = /"((?:[^"\\]|\\.)*)"|\+?\d[\d\s().-]{5,}\d/g;
const DIGIT_RUN = /\+?\d[\d\s().-]{5,}\d/g;

/**
 * Replaces each sensitive string in `text`. A few values (the usual case: a name, a phone) are found anywhere,
 * longest first. Many values (`items.*.phone` over a long list) would make that quadratic, so then the text is
 * scanned once: a whole JSON string or a digit run that is one of the values is replaced; the cost stays
 * linear in the text, whatever the number of values.
 */
export function scrubText(text: string, forms: Map<string, string>): string {
  if (forms.size === 0) return text;
  if (forms.size <= MAX_SUBSTRING_FORMS) {
    let out = text;
    for (const [original, masked] of [...forms].sort((a, b) => b[0].length - a[0].length)) {
      if (out.includes(original)) out = out.split(original).join(masked);
    }
    return out;
  }
  const run = (digits: string) => forms.get(digits) ?? forms.get(digits.replace(/\D/g, '')) ?? digits;
  return text.replace(STRING_OR_DIGITS, (whole: string, inner: string | undefined) => {
    // a bare number is JSON: its masked form is written as a string, so the text stays valid JSON
    if (inner === undefined)
      return forms.has(whole) || forms.has(whole.replace(/\D/g, '')) ? JSON.stringify(run(whole)) : whole;
    const masked = forms.get(inner.trim());
    return masked !== undefined ? JSON.stringify(masked) : `"${inner.replace(DIGIT_RUN, run)}"`;
  });
}

/** The same over every string inside a JSON-like value. */
export function scrubValue<T>(value: T, forms: Map<string, string>): T {
  return mapStrings(value, (text) => scrubText(text, forms));
}
