/**
 * A budget on every JSONata evaluation, so that no expression (however written) and no payload (however shaped)
 * can hold the Worker: at most BUDGET.steps evaluation steps, BUDGET.depth nested calls and BUDGET.sequence items
 * in one sequence, BUDGET.string characters in any string it builds (`$pad` and `$join` are refused before they
 * build one); and, refused when the expression is compiled, no regular expression that can backtrack
 * exponentially (`(a+)+`, `(a|a)*`) and no `$eval`. The steps are counted (workerd's clock does not advance while
 * code runs, so a time limit could not stop a loop); JSONata's own `stack` and `sequence` guards do the rest.
 */
import jsonata from 'jsonata';
import { sentences } from '../shared/text';

export const BUDGET = { steps: 100_000, depth: 300, sequence: 100_000, string: 2 * 1024 * 1024 } as const;

/** Thrown when an evaluation runs past its budget; the mapping turns it into `mapping_failed`. */
export class BudgetExceeded extends Error {}

const ENTRY = Symbol.for('jsonata.__evaluate_entry');
const EXIT = Symbol.for('jsonata.__evaluate_exit');
type Frame = { base: { budgetSteps?: number } & Frame2 };

/**
 * Compiles JSONata under the budget. Throws like `jsonata()` for bad syntax, and for a regex that can backtrack without
 * end.
 */
export function compileBudgeted(source: string): jsonata.Expression {
  const expression = jsonata(source, { stack: BUDGET.depth, sequence: BUDGET.sequence } as never);
  const ast = expression.ast();
  const unsafe = unsafeRegexes(ast);
  if (unsafe.length > 0) {
    throw new Error(
      sentences(
        `regular expression /${unsafe[0]}/ can take exponential time`,
        '(a repeated group holding a quantifier, or branches that start alike):',
        'use a character class, e.g. [\\w]* instead of (\\w|\\d)*',
      ),
    );
  }
  const refused = refusedFunctions(ast);
  if (refused.length > 0)
    throw new Error(`$${refused[0]} is not allowed in a mapping: ${REFUSED_FUNCTIONS[refused[0]!]}`);
  const unknown = unknownFunctions(ast);
  if (unknown.length > 0)
    throw new Error(`unknown function $${unknown[0]}: known are ${KNOWN_FUNCTIONS.map((f) => `$${f}`).join(', ')}`);
  // counted on the evaluation's own frame (`base` is new for each evaluate call), so concurrent evaluations never share
  expression.assign(ENTRY as unknown as string, (_expr: unknown, _input: unknown, environment: Frame) => {
    const base = environment.base;
    base.budgetSteps = (base.budgetSteps ?? 0) + 1;
    if (base.budgetSteps === 1) bindBounded(base);
    if (base.budgetSteps > BUDGET.steps)
      throw new BudgetExceeded(`expression exceeded its budget (${BUDGET.steps} evaluation steps)`);
  });
  expression.assign(
    EXIT as unknown as string,
    (_expr: unknown, _input: unknown, _environment: unknown, result: unknown) => checkResultSize(result),
  );
  return expression;
}

/**
 * The message of a budget error from JSONata's own guards (depth, sequence length) or ours; undefined for other errors.
 */
export function budgetMessage(err: unknown): string | undefined {
  if (err instanceof BudgetExceeded) return err.message;
  const code = (err as { code?: string } | null)?.code;
  if (code === 'D1011') return `expression exceeded its budget (${BUDGET.depth} nested calls)`;
  if (code === 'D2015') return `expression exceeded its budget (${BUDGET.sequence} items in one sequence)`;
  return undefined;
}

/** The sources of every regex literal in a JSONata AST that can backtrack catastrophically. */
function unsafeRegexes(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const child of node) unsafeRegexes(child, found);
  } else if (node && typeof node === 'object') {
    const n = node as { type?: string; value?: unknown };
    if (n.type === 'regex' && n.value instanceof RegExp && hasNestedQuantifier(n.value.source))
      found.push(n.value.source);
    for (const child of Object.values(node))
      if (child && typeof child === 'object' && !(child instanceof RegExp)) unsafeRegexes(child, found);
  }
  return found;
}

type Group = { quantifier: boolean; firsts: (string | null)[]; atStart: boolean };

/**
 * The quantifier at `source[i]`, if any: its text, and whether it repeats (`*`, `+`, `{n,}`, `{n,m}`, `{n}` with n >
 * 1).
 */
function quantifierAt(source: string, i: number): { repeats: boolean } | null {
  const c = source[i];
  if (c === '*' || c === '+') return { repeats: true };
  if (c === '?') return { repeats: false };
  const braces = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i)) : null;
  if (!braces) return null;
  const min = Number(braces[1]);
  const max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
  return { repeats: max > 1 };
}

/**
 * The first atom of a branch, when it is one literal character (`\.` counts); `null` for a class, `.`, an escape class
 * or a group.
 */
function literalAt(source: string, i: number): string | null {
  const c = source[i]!;
  if (c === '\\') {
    const e = source[i + 1] ?? '';
    return /[A-Za-z0-9]/.test(e) ? null : e;
  }
  return c === '[' || c === '.' || c === '(' ? null : c;
}

/**
 * Whether a pattern can backtrack exponentially: a repeated group that holds a quantifier (`(a+)+`, `(\w*)*`,
 * `(a?){25}`) or an alternation whose branches may start alike (`(a|a)*`, `(\w|\d)*`; `(foo|bar)*` is safe).
 */
export function hasNestedQuantifier(source: string): boolean {
  const groups: Group[] = [];
  let inClass = false;
  const top = () => groups[groups.length - 1];
  const startAtom = (i: number) => {
    const g = top();
    if (g?.atStart) {
      g.firsts[g.firsts.length - 1] = literalAt(source, i);
      g.atStart = false;
    }
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (inClass) {
      if (c === '\\') i++;
      else if (c === ']') inClass = false;
      continue;
    }
    if (c === '\\') {
      startAtom(i);
      i++;
    } else if (c === '[') {
      startAtom(i);
      inClass = true;
    } else if (c === '(') {
      startAtom(i);
      groups.push({ quantifier: false, firsts: [null], atStart: true });
      const prefix = /^\?(?::|=|!|<=|<!|<[A-Za-z_][A-Za-z0-9_]*>)/.exec(source.slice(i + 1));
      if (prefix) i += prefix[0].length;
    } else if (c === '|') {
      const g = top();
      if (g) {
        g.firsts.push(null);
        g.atStart = true;
      }
    } else if (c === ')') {
      const g = groups.pop();
      if (!g) continue;
      const q = quantifierAt(source, i + 1);
      const alike = g.firsts.length > 1 && (g.firsts.includes(null) || new Set(g.firsts).size < g.firsts.length);
      if (q?.repeats && (g.quantifier || alike)) return true;
      const parent = top();
      if (parent && (g.quantifier || alike || q)) parent.quantifier = true;
    } else if (quantifierAt(source, i)) {
      const g = top();
      if (g) g.quantifier = true;
    } else if (c !== '^' && c !== '$') {
      startAtom(i);
    }
  }
  return false;
}

/** JSONata's own functions (2.x) and the adapter's (`$digits`, `$cnMobile`; `$headers` and `$query` are values). */
export const KNOWN_FUNCTIONS = [
  'digits',
  'cnMobile',
  'sum',
  'count',
  'max',
  'min',
  'average',
  'string',
  'substring',
  'substringBefore',
  'substringAfter',
  'lowercase',
  'uppercase',
  'length',
  'trim',
  'pad',
  'match',
  'contains',
  'replace',
  'split',
  'join',
  'formatNumber',
  'formatBase',
  'formatInteger',
  'parseInteger',
  'number',
  'floor',
  'ceil',
  'round',
  'abs',
  'sqrt',
  'power',
  'random',
  'boolean',
  'not',
  'map',
  'zip',
  'filter',
  'single',
  'reduce',
  'sift',
  'keys',
  'lookup',
  'append',
  'exists',
  'spread',
  'merge',
  'reverse',
  'each',
  'error',
  'assert',
  'type',
  'sort',
  'shuffle',
  'distinct',
  'base64encode',
  'base64decode',
  'encodeUrlComponent',
  'encodeUrl',
  'decodeUrlComponent',
  'decodeUrl',
  'toMillis',
  'fromMillis',
  'clone',
  'now',
  'millis',
];
const KNOWN = new Set(KNOWN_FUNCTIONS);

/**
 * The functions an expression calls that exist nowhere: not JSONata's, not ours, not a variable the expression
 * binds itself (`$f := function…`, a lambda's parameters). `$cnmobile(phone)` is caught when it is saved, not when
 * the first lead finds it.
 */
function unknownFunctions(ast: unknown): string[] {
  const bound = new Set<string>();
  const called: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object' || node instanceof RegExp) return;
    const n = node as {
      type?: string;
      value?: unknown;
      procedure?: { type?: string; value?: unknown };
      lhs?: { type?: string; value?: unknown };
      arguments?: unknown[];
    };
    if (n.type === 'bind' && n.lhs?.type === 'variable' && typeof n.lhs.value === 'string') bound.add(n.lhs.value);
    if (n.type === 'lambda')
      for (const a of n.arguments ?? [])
        if (a && typeof a === 'object' && typeof (a as { value?: unknown }).value === 'string')
          bound.add((a as { value: string }).value);
    if (
      (n.type === 'function' || n.type === 'partial') &&
      n.procedure?.type === 'variable' &&
      typeof n.procedure.value === 'string'
    )
      called.push(n.procedure.value);
    for (const child of Object.values(node)) walk(child);
  };
  walk(ast);
  return [...new Set(called)].filter((name) => !KNOWN.has(name) && !bound.has(name));
}

/** JSONata functions a mapping may not use, and why. */
const REFUSED_FUNCTIONS: Record<string, string> = {
  eval: 'it runs text as an expression, which no check at save time can see (build the value with the other functions)',
};

/** The refused functions an expression names (called, or passed as a value like `$f := $eval`). */
function refusedFunctions(ast: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object' || node instanceof RegExp) return;
    const n = node as { type?: string; value?: unknown };
    if (n.type === 'variable' && typeof n.value === 'string' && n.value in REFUSED_FUNCTIONS) found.add(n.value);
    for (const child of Object.values(node)) walk(child);
  };
  walk(ast);
  return [...found];
}

// ---- values that grow: one bound on every string an expression builds ------------------------------------------

type Definition = { _jsonata_function: true; implementation: (...args: unknown[]) => unknown; signature?: unknown };
type Frame2 = { bind(name: string, value: unknown): void; lookup(name: string): unknown };

const tooLong = (what: string, length: number) =>
  new BudgetExceeded(`expression exceeded its budget (${what} of ${length} characters; at most ${BUDGET.string})`);

/**
 * Refuses before the call a built-in whose result would pass the string budget: `$pad` to 100 MB, `$join` of copies.
 */
const BOUNDED: Record<string, (args: unknown[]) => number> = {
  pad: ([str, width]) => Math.max(typeof str === 'string' ? str.length : 0, Math.abs(Math.trunc(Number(width) || 0))),
  join: ([strs, sep]) => {
    const list = Array.isArray(strs) ? strs : [strs];
    const joints = typeof sep === 'string' ? sep.length * Math.max(0, list.length - 1) : 0;
    return list.reduce<number>((n, s) => n + (typeof s === 'string' ? s.length : 0), joints);
  },
  replace: ([str, pattern, replacement]) => {
    if (typeof str !== 'string' || typeof replacement !== 'string') return 0;
    const matches = typeof pattern === 'string' && pattern.length > 0 ? str.split(pattern).length - 1 : str.length + 1;
    return str.length + matches * replacement.length;
  },
};

/**
 * Binds the bounded built-ins on one evaluation's own frame, over JSONata's definitions (so signatures still apply).
 */
function bindBounded(frame: Frame2): void {
  for (const [name, size] of Object.entries(BOUNDED)) {
    const original = frame.lookup(name) as Definition | undefined;
    if (!original?._jsonata_function) continue;
    frame.bind(name, {
      ...original,
      implementation(this: unknown, ...args: unknown[]) {
        const length = size(args);
        if (length > BUDGET.string) throw tooLong(`$${name}`, length);
        return original.implementation.apply(this, args);
      },
    });
  }
}

/** After each step: a string past the budget (`$s & $s` doubling) stops the evaluation there. */
export function checkResultSize(result: unknown): void {
  if (typeof result === 'string' && result.length > BUDGET.string) throw tooLong('a value', result.length);
}
