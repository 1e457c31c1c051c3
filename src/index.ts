/** Library entry `kosmo-vero`: the Vero client, and the runtime every other surface (Lua, MCP, CLI) calls through. */

export * from './clients/vero/index.js';
export { KosmoError } from './errors.js';
export type { CallRecord, CallStatus } from './runtime/call-log.js';
export type { RuntimeConfig } from './runtime/config.js';
export type {
  Account,
  Integration,
  IntegrationFunction,
  Operation,
  WritePlan,
} from './runtime/definition.js';
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
  createRuntime,
  type FunctionInfo,
  Runtime,
  type RuntimeOptions,
} from './runtime/runtime.js';
export { callTool, type ToolDefinition, UnknownToolError } from './runtime/tool-definitions.js';
