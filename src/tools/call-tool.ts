import { KosmoError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { jsonSchemaOf, validateArguments } from '../runtime/validate-arguments.js';
import { didYouMean, quoteName } from '../suggest.js';
import { type ToolSpec, toolSpecs } from './definitions.js';

export class UnknownToolError extends KosmoError {
  constructor(message: string) {
    super('unknown_tool', message);
  }
}

export interface ToolCallOptions {
  /** Account for calls that name none; default: the default account. */
  account?: string;
  /** Deny writes, for this caller only (see CallOptions.readOnly). */
  readOnly?: boolean | string;
}

/** Validates a built-in tool's arguments with the same messages as integration functions. */
function builtinArgs<T>(spec: ToolSpec, args: unknown): T {
  if (!spec.schema) return args as T;
  return validateArguments(spec.name, spec.schema, jsonSchemaOf(spec.schema), args) as T;
}

/**
 * Runs one tool the way the MCP server does. Resolves to a doc page's text or a JSON object; a script that fails
 * still resolves (`ok: false`), anything else that fails throws a KosmoError with a stable `code`.
 */
export async function callTool(
  runtime: Runtime,
  name: string,
  args: unknown,
  options: ToolCallOptions = {},
): Promise<string | Record<string, unknown>> {
  const specs = toolSpecs(runtime.functions());
  const spec = specs.find((candidate) => candidate.name === name);
  if (!spec) throw unknownToolError(name, specs);
  return runSpec(runtime, spec, args, options);
}

/** `unknown tool "x". Did you mean "y"? Tools: ...`: the same words for function calling and MCP. */
export function unknownToolError(name: string, specs: ToolSpec[]): UnknownToolError {
  const names = specs.map((candidate) => candidate.name);
  return new UnknownToolError(
    `unknown tool ${quoteName(name)}.${didYouMean(name, names)} Tools: ${names.join(', ')}.`,
  );
}

/** Runs a tool already looked up. */
export async function runSpec(
  runtime: Runtime,
  spec: ToolSpec,
  args: unknown,
  options: ToolCallOptions = {},
): Promise<string | Record<string, unknown>> {
  const action = spec.action;
  switch (action.kind) {
    case 'function':
      return runtime.call(action.fullName, args, { account: options.account, readOnly: options.readOnly });
    case 'read_doc':
      return runtime.readDoc(builtinArgs<{ page: string }>(spec, args).page);
    case 'list_docs':
      builtinArgs(spec, args);
      return { pages: runtime.listDocs() };
    case 'search_docs': {
      const { query } = builtinArgs<{ query: string }>(spec, args);
      return { query, hits: runtime.searchDocs(query) };
    }
    case 'execute_lua': {
      const input = builtinArgs<{ code: string; account?: string; timeout_ms?: number }>(spec, args);
      const run = await runtime.runLua(input.code, {
        account: input.account ?? options.account,
        readOnly: options.readOnly,
        timeoutMs: input.timeout_ms,
      });
      return { ...run };
    }
  }
}
