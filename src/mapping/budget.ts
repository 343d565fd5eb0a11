/**
 * A budget on every JSONata evaluation, so that no expression (however written) and no payload (however shaped)
 * can hold the Worker: at most BUDGET.steps evaluation steps, BUDGET.depth nested calls and BUDGET.sequence items
 * in one sequence; and no regular expression that can backtrack catastrophically (a quantified group that itself
 * holds a quantifier, like `(a+)+`), refused when the expression is compiled. The steps are counted (workerd's
 * clock does not advance while code runs, so a time limit could not stop a loop); JSONata's own `stack` and
 * `sequence` guards do the rest.
 */
import jsonata from 'jsonata';

export const BUDGET = { steps: 100_000, depth: 300, sequence: 100_000 } as const;

/** Thrown when an evaluation runs past its budget; the mapping turns it into `mapping_failed`. */
export class BudgetExceeded extends Error {}

const ENTRY = Symbol.for('jsonata.__evaluate_entry');
type Frame = { base: { budgetSteps?: number } };

/** Compiles JSONata under the budget. Throws like `jsonata()` for bad syntax, and for a regex that can backtrack without end. */
export function compileBudgeted(source: string): jsonata.Expression {
  const expression = jsonata(source, { stack: BUDGET.depth, sequence: BUDGET.sequence } as never);
  const ast = expression.ast();
  const unsafe = unsafeRegexes(ast);
  if (unsafe.length > 0) throw new Error(`regular expression /${unsafe[0]}/ can take exponential time (a quantified group holding a quantifier): rewrite it without nesting`);
  const unknown = unknownFunctions(ast);
  if (unknown.length > 0) throw new Error(`unknown function $${unknown[0]}: known are ${KNOWN_FUNCTIONS.map((f) => `$${f}`).join(', ')}`);
  // counted on the evaluation's own frame (`base` is new for each evaluate call), so concurrent evaluations never share
  expression.assign(ENTRY as unknown as string, (_expr: unknown, _input: unknown, environment: Frame) => {
    const base = environment.base;
    base.budgetSteps = (base.budgetSteps ?? 0) + 1;
    if (base.budgetSteps > BUDGET.steps) throw new BudgetExceeded(`expression exceeded its budget (${BUDGET.steps} evaluation steps)`);
  });
  return expression;
}

/** The message of a budget error from JSONata's own guards (depth, sequence length) or ours; undefined for other errors. */
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
    if (n.type === 'regex' && n.value instanceof RegExp && hasNestedQuantifier(n.value.source)) found.push(n.value.source);
    for (const child of Object.values(node)) if (child && typeof child === 'object' && !(child instanceof RegExp)) unsafeRegexes(child, found);
  }
  return found;
}

/** Whether a pattern quantifies a group that itself holds a quantifier (star height above one): `(a+)+`, `(\w*)*`, `(a|b+){2,}`. */
export function hasNestedQuantifier(source: string): boolean {
  const groups: boolean[] = []; // per open group: whether it holds a quantifier
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') groups.push(false);
    else if (c === ')') {
      const inner = groups.pop() ?? false;
      const next = source[i + 1];
      const quantified = next === '*' || next === '+' || (next === '{' && /^\{\d*,\d*\}|^\{\d{2,}\}/.test(source.slice(i + 1)));
      if (inner && quantified) return true;
      // a quantified group counts as a quantifier for the group around it
      if (groups.length > 0 && (inner || quantified)) groups[groups.length - 1] = true;
    } else if ((c === '*' || c === '+' || c === '{') && groups.length > 0) groups[groups.length - 1] = true;
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
  'eval',
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
    const n = node as { type?: string; value?: unknown; procedure?: { type?: string; value?: unknown }; lhs?: { type?: string; value?: unknown }; arguments?: unknown[] };
    if (n.type === 'bind' && n.lhs?.type === 'variable' && typeof n.lhs.value === 'string') bound.add(n.lhs.value);
    if (n.type === 'lambda')
      for (const a of n.arguments ?? []) if (a && typeof a === 'object' && typeof (a as { value?: unknown }).value === 'string') bound.add((a as { value: string }).value);
    if ((n.type === 'function' || n.type === 'partial') && n.procedure?.type === 'variable' && typeof n.procedure.value === 'string') called.push(n.procedure.value);
    for (const child of Object.values(node)) walk(child);
  };
  walk(ast);
  return [...new Set(called)].filter((name) => !KNOWN.has(name) && !bound.has(name));
}
