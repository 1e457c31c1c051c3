import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { toErrorInfo } from '../errors.js';
import type { FunctionInfo, Runtime } from '../runtime/runtime.js';
import { quoteName } from '../suggest.js';
import { runSpec, type ToolCallOptions, type ToolSpec, toolSpecs, unknownToolError } from '../tools/index.js';
import { CLIENT_VERSION } from '../version.js';
import { listedSchema } from './listed-schema.js';
import { errorResult, jsonResult, textResult } from './tool-result.js';

/** `account`: used when a call names none (the CLI's `--account`); `readOnly`: deny writes to this client. */
export interface McpServerOptions extends ToolCallOptions {
  /** One line per tool call and per protocol problem; never a credential. Default: silent. */
  log?: (line: string) => void;
  /** Receives each tool call as it starts, so a host can let calls in flight finish before closing. */
  track?: (call: Promise<unknown>) => void;
}

/** What the client is told once, derived from the integrations the runtime offers. */
function serverInstructions(functions: FunctionInfo[]): string {
  const integrations = [...new Set(functions.map((fn) => fn.integration))];
  const examples = integrations.map((name) => functions.find((fn) => fn.integration === name)?.slug);
  return [
    `kosmo-vero reaches ${integrations.join(', ')} through a Lua sandbox and one tool per function.`,
    `For one change, call a function's tool (${examples.join(', ')}, ...). For several steps, loops or checks,`,
    'use execute_lua with app.integrations.<integration>.<function>({...});',
    `${integrations.map((name) => `lua_read_doc("integrations.${name}")`).join(' / ')} is the full reference,`,
    'lua_read_doc("integrations") lists the integrations.',
  ].join(' ');
}

let validator: AjvJsonSchemaValidator | undefined;

/**
 * One JSON Schema validator for every server: the SDK builds an Ajv instance per server otherwise, which is most of
 * the cost of the server `kosmo-vero serve` builds per request. It holds no per-client state.
 */
function sharedValidator(): AjvJsonSchemaValidator {
  validator ??= new AjvJsonSchemaValidator();
  return validator;
}

/** Builds the MCP server over a runtime: execute_lua, the docs tools, and one tool per integration function. */
export function createMcpServer(runtime: Runtime, options: McpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'kosmo-vero', title: 'kosmo-vero', version: CLIENT_VERSION },
    { instructions: serverInstructions(runtime.functions()), jsonSchemaValidator: sharedValidator() },
  );
  const log = options.log ?? (() => {});
  const specs = toolSpecs(runtime.functions());
  for (const spec of specs) {
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema: listedSchema(spec.parameters),
        annotations: { title: spec.title, ...spec.hints },
      },
      (args: unknown) => {
        const call = (async () => {
          const started = performance.now();
          let result: CallToolResult;
          try {
            result = await runTool(runtime, spec, args, {
              account: options.account,
              readOnly: options.readOnly,
            });
          } catch (error) {
            result = errorResult(error);
          }
          const ms = Math.round(performance.now() - started);
          const outcome = result.isError ? `error ${errorCodeOf(result)}` : 'ok';
          log(`tool ${spec.name}: ${outcome} (${ms} ms)`);
          return result;
        })();
        options.track?.(call);
        return call;
      },
    );
  }
  suggestUnknownTools(server, specs, log);
  server.server.onerror = (error) => log(`protocol error: ${toErrorInfo(error).message}`);
  return server;
}

type RequestHandler = (request: CallToolRequest, extra: unknown) => Promise<unknown>;

/**
 * The SDK answers a tool it does not know with a bare "Tool x not found". Put a handler in front of its own that
 * answers with our unknown-tool error instead (a suggestion and the list), as `callTool` does.
 */
function suggestUnknownTools(server: McpServer, specs: ToolSpec[], log: (line: string) => void): void {
  // The SDK keeps the handler it installed for tools/call in this map (SDK pinned; see package.json).
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, RequestHandler> })
    ._requestHandlers;
  const sdkHandler = handlers.get('tools/call');
  if (!sdkHandler) return;
  const known = new Set(specs.map((spec) => spec.name));
  server.server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    if (known.has(request.params.name)) return sdkHandler(request, extra) as Promise<CallToolResult>;
    // The name is the client's, of any length: quoted and cut for the log.
    log(`tool ${quoteName(request.params.name)}: error unknown_tool`);
    return errorResult(unknownToolError(request.params.name, specs));
  });
}

function errorCodeOf(result: CallToolResult): string {
  const error = (result.structuredContent as { error?: { code?: string } } | undefined)?.error;
  return error?.code ?? 'unknown';
}

/** A doc page reads better as markdown than as a JSON string; a failed script is a tool error. */
async function runTool(
  runtime: Runtime,
  spec: ToolSpec,
  args: unknown,
  options: ToolCallOptions,
): Promise<CallToolResult> {
  const output = await runSpec(runtime, spec, args, options);
  if (typeof output === 'string') return textResult(output);
  return jsonResult(output, spec.action.kind === 'execute_lua' && output.ok === false);
}
