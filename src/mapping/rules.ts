/** The field rules of an endpoint's mapping (`fields` in its configuration): what the mapping step compiles. */
import * as z from '../shared/zod';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const JsonValue = z.union([Scalar, z.array(Scalar)]);

const ConstantRule = z.strictObject({
  value: JsonValue,
  /** Whether to replace a value the CRM already has (default: yes, except under update.mode "fill-empty"). */
  overwrite: z.optional(z.boolean()),
});
const FromRule = z.strictObject({
  /** JSONata expression evaluated against the payload. */
  from: z.string().check(z.minLength(1)),
  /**
   * Translates values, e.g. labels to option ids; a value missing from the map leaves the field out, with a warning.
   */
  map: z.optional(z.record(z.string(), JsonValue)),
  /** Applied when the expression (or the map) yields nothing. */
  default: z.optional(JsonValue),
  /** A missing value refuses the webhook with 422 mapping_failed. */
  required: z.optional(z.boolean()),
  /** Whether to replace a value the CRM already has (default: yes, except under update.mode "fill-empty"). */
  overwrite: z.optional(z.boolean()),
});

/** A field: a JSONata expression string, a constant `{ value }`, or a rule `{ from, map?, default?, required? }`. */
export const FieldRule = z.union([z.string().check(z.minLength(1)), ConstantRule, FromRule], {
  error:
    'a field is a JSONata expression string, { "value": ... }, or { "from": ..., "map"?, "default"?, "required"? }',
});
export type FieldRule = z.infer<typeof FieldRule>;
