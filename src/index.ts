/**
 * Library entry `kosmo-vero`: the Vero client, the runtime every other surface (Lua, MCP, CLI) calls through, and
 * the tools for function-calling hosts. The built-in integrations are chosen here (and in the CLI), not in the
 * runtime, so the runtime never imports the integrations that import its contract.
 */
import { builtinIntegrations } from './integrations/index.js';
import { Runtime } from './runtime/runtime.js';
import type { RuntimeOptions } from './runtime/runtime-types.js';

export * from './clients/vero/index.js';
export { type ErrorInfo, KosmoError, toErrorInfo } from './errors.js';
export type {
  Account,
  Integration,
  IntegrationFunction,
  Operation,
  WritePlan,
} from './integrations/definition.js';
export { builtinIntegrations } from './integrations/index.js';
export type { CallRecord, CallStatus } from './runtime/call-log.js';
export type { RuntimeConfig } from './runtime/config.js';
export type { DocPage, DocSearchHit } from './runtime/docs.js';
export {
  ConfigError,
  InvalidArgumentsError,
  MissingCredentialError,
  PermissionDeniedError,
  UnknownAccountError,
  UnknownDocPageError,
  UnknownFunctionError,
} from './runtime/errors.js';
export { ImportFileError } from './runtime/import-file.js';
export type { AskCallback, PermissionPolicy, PermissionRequest } from './runtime/permissions.js';
export {
  type AccountInfo,
  type CallOptions,
  type CallResult,
  type FunctionInfo,
  Runtime,
  type RuntimeOptions,
} from './runtime/runtime.js';
export { callTool, type ToolDefinition, toolDefinitions, UnknownToolError } from './tools/index.js';

/** A runtime over the built-in integrations (Vero) unless `options.integrations` names others. */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime({ ...options, integrations: options.integrations ?? builtinIntegrations });
}
