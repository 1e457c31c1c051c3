import type { core } from 'zod';
import * as z from 'zod';
import { type ArgumentProblem, InvalidArgumentsError } from './errors.js';

/** How deep arguments may nest: the same as `json.encode` in the Lua sandbox, which every Lua call goes through. */
export const MAX_ARGUMENT_DEPTH = 200;

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Lua has one table type, so an empty table arrives as `{}` whatever it meant: make it an array where the schema
 * expects one (and the reverse), recursively. Everything else is left for the schema to judge.
 */
export function coerceLuaShapes(value: unknown, schema: JsonSchema): unknown {
  if (schema.type === 'array') {
    if (isPlainObject(value) && Object.keys(value).length === 0) return [];
    if (Array.isArray(value) && schema.items) {
      const items = schema.items;
      return value.map((item) => coerceLuaShapes(item, items));
    }
    return value;
  }
  if (schema.type === 'object') {
    if (Array.isArray(value) && value.length === 0) return {};
    if (isPlainObject(value) && schema.properties) {
      const properties = schema.properties;
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => {
          const itemSchema = properties[key];
          return [key, itemSchema ? coerceLuaShapes(item, itemSchema) : item];
        }),
      );
    }
  }
  return value;
}

const describeValue = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
};

const typeName = (expected: string): string =>
  expected === 'record' || expected === 'object' ? 'a table of key = value pairs' : expected;

function problemOf(issue: core.$ZodIssue): ArgumentProblem {
  const field = issue.path.map(String).join('.');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return input === undefined
        ? { field, rule: 'is required' }
        : { field, rule: `expected ${typeName(issue.expected)}, got ${describeValue(input)}` };
    case 'too_big':
      if (issue.origin === 'string') {
        return { field, rule: `must be at most ${issue.maximum} characters (got ${String(input).length})` };
      }
      if (issue.origin === 'array') return { field, rule: `must have at most ${issue.maximum} items` };
      return { field, rule: `must be at most ${issue.maximum} (got ${String(input)})` };
    case 'too_small':
      if (issue.origin === 'string') {
        return {
          field,
          rule: Number(issue.minimum) <= 1 ? 'must not be empty' : `needs ${issue.minimum}+ characters`,
        };
      }
      if (issue.origin === 'array') {
        return {
          field,
          rule: `must list at least ${issue.minimum} item${Number(issue.minimum) === 1 ? '' : 's'}`,
        };
      }
      return { field, rule: `must be at least ${issue.minimum} (got ${String(input)})` };
    case 'unrecognized_keys':
      return { field: issue.keys.join(', '), rule: 'unknown field' };
    case 'custom':
    case 'invalid_format':
      return {
        field,
        rule: typeof input === 'string' ? `${issue.message} ${JSON.stringify(input)}` : issue.message,
      };
    default:
      return { field, rule: issue.message };
  }
}

/**
 * Refuses arguments too large or too deep before any other work, with the Lua sandbox's limits, so a CLI or MCP
 * call meets the same bounds as a Lua call. The walk is iterative and stops at the first bound crossed, so neither a
 * deep value (a recursive walk would overflow the stack) nor a huge one costs more than the bound.
 */
export function checkArgumentSize(fullName: string, args: unknown, maxBytes: number): void {
  const refuse = (rule: string): never => {
    throw new InvalidArgumentsError(fullName, [{ field: '', rule }]);
  };
  const stack: Array<{ value: unknown; depth: number }> = [{ value: args, depth: 1 }];
  // Every JSON value takes at least one byte: more values than bytes allowed is too large, whatever they are.
  let values = 0;
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (++values > maxBytes) break;
    const { value, depth } = item;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_ARGUMENT_DEPTH) {
      refuse(`arguments are nested more than ${MAX_ARGUMENT_DEPTH} levels deep; flatten them`);
    }
    for (const child of Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
  const bytes = values > maxBytes ? Number.POSITIVE_INFINITY : Buffer.byteLength(JSON.stringify(args) ?? '');
  if (bytes > maxBytes) {
    const size = Number.isFinite(bytes) ? `${bytes} bytes` : 'more';
    refuse(
      `arguments are too large as JSON (${size}), above the limit of ${maxBytes} bytes (maxArgBytes); send less per call`,
    );
  }
}

/** Validates `args` against `schema` once the Lua shapes are mended; throws InvalidArgumentsError naming each rule. */
export function validateArguments<Schema extends z.ZodType>(
  fullName: string,
  schema: Schema,
  jsonSchema: JsonSchema,
  args: unknown,
): z.output<Schema> {
  const shaped = coerceLuaShapes(args ?? {}, jsonSchema);
  const parsed = schema.safeParse(shaped, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(problemOf);
  const allowed = Object.keys(jsonSchema.properties ?? {});
  for (const problem of problems) {
    if (problem.rule === 'unknown field' && allowed.length > 0)
      problem.rule += ` (allowed: ${allowed.join(', ')})`;
  }
  throw new InvalidArgumentsError(fullName, problems);
}

export const jsonSchemaOf = (schema: z.ZodType): JsonSchema & Record<string, unknown> =>
  z.toJSONSchema(schema, { io: 'input' }) as JsonSchema & Record<string, unknown>;
