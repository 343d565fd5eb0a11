import type { FieldRule } from './rules';
import { fastExpression, type Expression } from './fast-path';
import { compileBudgeted } from './budget';

export type { Expression } from './fast-path';

export type CompiledField =
  | { name: string; kind: 'expression'; expression: Expression }
  | { name: string; kind: 'constant'; value: unknown }
  | {
      name: string;
      kind: 'rule';
      expression: Expression;
      map?: ReadonlyMap<string, unknown>;
      default?: unknown;
      required: boolean;
    };

export type CompiledLookup = { key: string; value: Expression };

export type CompiledMapping = {
  customerId?: Expression;
  lookups: CompiledLookup[];
  fields: CompiledField[];
  /** Per field `overwrite`, where a rule states it. */
  overwrites: ReadonlyMap<string, boolean>;
  idempotencyKey?: Expression;
  skipWhen?: Expression;
  /** The sender's version of the record (`entry.updated_at`): an older one than the last applied is superseded. */
  version?: Expression;
};

export type MappingIssue = { path: string; message: string };

type MappingSource = {
  customerId?: string;
  customerLookup?: { key: string; value: string }[];
  fields: Record<string, FieldRule>;
  idempotencyKey?: string | { header: string };
  skipWhen?: string;
  version?: string;
};

function compileExpression(source: string, path: string, issues: MappingIssue[]): Expression | undefined {
  // plain paths and $trim/$digits/$cnMobile of one skip JSONata (see fast-path.ts)
  const fast = fastExpression(source);
  if (fast) return fast;
  try {
    return compileBudgeted(source);
  } catch (err) {
    const e = err as { message?: string; position?: number };
    issues.push({
      path,
      message: `invalid JSONata: ${e.message ?? String(err)}${e.position !== undefined ? ` (at ${e.position})` : ''}`,
    });
    return undefined;
  }
}

/** Compiles an endpoint's expressions; every broken one is reported with its path, so a PUT can refuse it. */
export function compileMapping(
  source: MappingSource,
): { ok: true; mapping: CompiledMapping } | { ok: false; issues: MappingIssue[] } {
  const issues: MappingIssue[] = [];
  if (source.customerId === undefined && !source.customerLookup) {
    issues.push({
      path: 'customerId',
      message: 'give customerId (an expression) or customerLookup (keys to look up), or both',
    });
  }
  const customerId =
    source.customerId === undefined ? undefined : compileExpression(source.customerId, 'customerId', issues);
  const lookups: CompiledLookup[] = [];
  (source.customerLookup ?? []).forEach((l, i) => {
    const value = compileExpression(l.value, `customerLookup.${i}.value`, issues);
    if (value) lookups.push({ key: l.key, value });
  });
  const overwrites = new Map<string, boolean>();
  for (const [name, rule] of Object.entries(source.fields)) {
    if (typeof rule === 'object' && rule.overwrite !== undefined) overwrites.set(name, rule.overwrite);
  }
  const fields: CompiledField[] = [];
  for (const [name, rule] of Object.entries(source.fields)) {
    if (typeof rule === 'string') {
      const expression = compileExpression(rule, `fields.${name}`, issues);
      if (expression) fields.push({ name, kind: 'expression', expression });
    } else if ('value' in rule) {
      fields.push({ name, kind: 'constant', value: rule.value });
    } else {
      const expression = compileExpression(rule.from, `fields.${name}.from`, issues);
      if (expression) {
        fields.push({
          name,
          kind: 'rule',
          expression,
          map: rule.map ? new Map(Object.entries(rule.map)) : undefined,
          default: rule.default,
          required: rule.required ?? false,
        });
      }
    }
  }
  const idempotencyKey =
    typeof source.idempotencyKey === 'string'
      ? compileExpression(source.idempotencyKey, 'idempotencyKey', issues)
      : undefined;
  const skipWhen = source.skipWhen === undefined ? undefined : compileExpression(source.skipWhen, 'skipWhen', issues);
  const version = source.version === undefined ? undefined : compileExpression(source.version, 'version', issues);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, mapping: { customerId, lookups, fields, overwrites, idempotencyKey, skipWhen, version } };
}

// Compiled mappings live as long as the isolate, keyed by endpoint id and revision:
// a changed configuration gets a new revision, so it is compiled once, on its first webhook.
const cache = new Map<string, CompiledMapping>();
const CACHE_LIMIT = 500;

/**
 * The compiled mapping of one configuration revision, compiled on first use. Throws if the stored config no longer
 * compiles.
 */
export function compiledMappingFor(cacheKey: string, source: MappingSource): CompiledMapping {
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const compiled = compileMapping(source);
  if (!compiled.ok)
    throw new Error(
      `stored mapping does not compile: ${compiled.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(cacheKey, compiled.mapping);
  return compiled.mapping;
}
