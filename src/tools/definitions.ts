import * as z from 'zod';
import { MAX_QUERY_LENGTH } from '../runtime/docs.js';
import type { FunctionInfo } from '../runtime/runtime-types.js';
import { jsonSchemaOf } from '../runtime/validate-arguments.js';
import { MAX_NAME_LENGTH } from '../suggest.js';

/** A tool as function-calling APIs take it: a name, what it does, and a JSON Schema object of its arguments. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** MCP's behaviour hints; other hosts may ignore them. */
export interface ToolHints {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** What a tool does when called, so a host (MCP, a function-calling loop) can dispatch without re-deriving it. */
export type ToolAction =
  | { kind: 'execute_lua' }
  | { kind: 'read_doc' }
  | { kind: 'list_docs' }
  | { kind: 'search_docs' }
  | { kind: 'function'; fullName: string };

export interface ToolSpec extends ToolDefinition {
  title: string;
  hints: ToolHints;
  action: ToolAction;
  /**
   * Validates the arguments of the built-in tools. Integration functions have none here: `runtime.call` validates
   * them with the function's own schema (the one `parameters` was generated from).
   */
  schema?: z.ZodType;
}

/** The JSON Schema of a zod schema without `$schema`: function-calling APIs want a bare object schema. */
export function toolParameters(jsonSchema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = jsonSchema;
  return rest;
}

export const MAX_TIMEOUT_MS = 300_000;

export const executeLuaSchema = z.strictObject({
  code: z
    .string()
    .min(1)
    .describe('The Lua 5.4 script to run. `print` output and the returned value come back.'),
  account: z
    .string()
    .min(1)
    .max(MAX_NAME_LENGTH)
    .optional()
    .describe(
      'Account that `app.integrations.<integration>.<function>` calls use (default: the default account)',
    ),
  timeout_ms: z
    .number()
    .int()
    .min(1)
    .max(MAX_TIMEOUT_MS)
    .optional()
    .describe('Wall-time limit of the run in milliseconds (default 30000)'),
});

export const readDocSchema = z.strictObject({
  page: z
    .string()
    .min(1)
    .max(MAX_NAME_LENGTH)
    .describe(
      'Doc page: "integrations" (the index), "integrations.<integration>" or "integrations.<integration>.<function>"',
    ),
});

export const listDocsSchema = z.strictObject({});

export const searchDocsSchema = z.strictObject({
  query: z
    .string()
    .min(1)
    .max(MAX_QUERY_LENGTH)
    .describe('Words that must all appear on the page (case-insensitive)'),
});

const docsHints: ToolHints = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** The integrations in listing order, each once. */
function integrationsOf(functions: FunctionInfo[]): string[] {
  return [...new Set(functions.map((fn) => fn.integration))];
}

/** `lua_read_doc("integrations.a")` or `lua_read_doc("integrations.a") / lua_read_doc("integrations.b")`. */
function referenceCalls(functions: FunctionInfo[]): string {
  return integrationsOf(functions)
    .map((name) => `lua_read_doc("integrations.${name}")`)
    .join(' / ');
}

function executeLuaDescription(functions: FunctionInfo[]): string {
  return [
    'Run a Lua 5.4 script in a sandbox (no files, network or OS access) that can call integration functions',
    `as app.integrations.<integration>.<function>({...}) (integrations: ${integrationsOf(functions).join(', ')}).`,
    'Named accounts are reached as app.integrations.<integration>.<account>.<function>({...}).',
    `Inside the script, ${referenceCalls(functions)} returns an integration's full function reference,`,
    'lua_list_docs() and lua_search_docs(query) find other pages.',
    "Scripts written for KosmoKrator's sandbox run as they are: print(table) shows the table, positional arguments",
    'map onto the parameters in order, and regex.match/match_all/gsub and docs.read/list/search are there.',
    'Returns { ok, output (printed lines), result (the returned value), calls (each function call made), error }.',
    `Functions: ${functions.map((fn) => fn.fullName).join(', ')}.`,
  ].join(' ');
}

function readDocDescription(functions: FunctionInfo[]): string {
  return [
    'Read a documentation page, the same text lua_read_doc(page) returns inside a script.',
    '"integrations" lists the integrations; "integrations.<integration>" is the full Lua reference of one',
    `(${integrationsOf(functions)
      .map((name) => `"integrations.${name}"`)
      .join(', ')}); "integrations.<integration>.<function>" is one function.`,
  ].join(' ');
}

function functionHints(fn: FunctionInfo): ToolHints {
  const read = fn.operation === 'read';
  return {
    readOnlyHint: read,
    destructiveHint: !read && fn.destructive,
    idempotentHint: fn.idempotent,
    openWorldHint: true,
  };
}

/** Every tool kosmo-vero offers, in listing order: Lua, docs, then one per integration function. */
// Building the specs converts schemas to JSON Schema; `kosmo-vero serve` asks for them on every request, always with
// the runtime's own (unchanging) function list.
const specsByFunctions = new WeakMap<FunctionInfo[], ToolSpec[]>();

export function toolSpecs(functions: FunctionInfo[]): ToolSpec[] {
  let specs = specsByFunctions.get(functions);
  if (!specs) {
    specs = buildToolSpecs(functions);
    specsByFunctions.set(functions, specs);
  }
  return specs;
}

function buildToolSpecs(functions: FunctionInfo[]): ToolSpec[] {
  const builtins: ToolSpec[] = [
    {
      name: 'execute_lua',
      title: 'Run a Lua script',
      description: executeLuaDescription(functions),
      parameters: toolParameters(jsonSchemaOf(executeLuaSchema)),
      schema: executeLuaSchema,
      // A script may call any function, delete_user included.
      hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      action: { kind: 'execute_lua' },
    },
    {
      name: 'lua_read_doc',
      title: 'Read a doc page',
      description: readDocDescription(functions),
      parameters: toolParameters(jsonSchemaOf(readDocSchema)),
      schema: readDocSchema,
      hints: docsHints,
      action: { kind: 'read_doc' },
    },
    {
      name: 'lua_list_docs',
      title: 'List doc pages',
      description: 'List every documentation page lua_read_doc accepts, with its title.',
      parameters: toolParameters(jsonSchemaOf(listDocsSchema)),
      schema: listDocsSchema,
      hints: docsHints,
      action: { kind: 'list_docs' },
    },
    {
      name: 'lua_search_docs',
      title: 'Search the docs',
      description: 'Find documentation pages containing every word of the query, with the lines that match.',
      parameters: toolParameters(jsonSchemaOf(searchDocsSchema)),
      schema: searchDocsSchema,
      hints: docsHints,
      action: { kind: 'search_docs' },
    },
  ];
  const functionTools = functions.map(
    (fn): ToolSpec => ({
      name: fn.slug,
      title: fn.fullName,
      description: fn.toolDescription,
      parameters: toolParameters(fn.parameters),
      hints: functionHints(fn),
      action: { kind: 'function', fullName: fn.fullName },
    }),
  );
  return [...builtins, ...functionTools];
}

/**
 * The same tools as the MCP server, as plain `{ name, description, parameters }` for function-calling APIs
 * (`callTool` runs one).
 */
export function toolDefinitions(runtime: { functions(): FunctionInfo[] }): ToolDefinition[] {
  return toolSpecs(runtime.functions()).map(({ name, description, parameters }) => ({
    name,
    description,
    parameters,
  }));
}
