/** Library entry `kosmo-vero`: the Vero client, and the runtime every other surface (Lua, MCP, CLI) calls through. */
export { KosmoError } from './errors.js';
export type { CallRecord, CallStatus } from './integration/call-log.js';
export type { RuntimeConfig } from './integration/config.js';
export type {
  Account,
  Integration,
  IntegrationFunction,
  Operation,
  WritePlan,
} from './integration/definition.js';
export type { DocPage, DocSearchHit } from './integration/docs.js';
export {
  ConfigError,
  InvalidArgumentsError,
  MissingCredentialError,
  PermissionDeniedError,
  UnknownAccountError,
  UnknownDocPageError,
  UnknownFunctionError,
} from './integration/errors.js';
export { ImportFileError } from './integration/import-file.js';
export type { AskCallback, PermissionPolicy, PermissionRequest } from './integration/permissions.js';
export {
  type AccountInfo,
  type CallOptions,
  type CallResult,
  createRuntime,
  type FunctionInfo,
  Runtime,
  type RuntimeOptions,
} from './integration/runtime.js';
export { callTool, type ToolDefinition, UnknownToolError } from './integration/tool-definitions.js';
export * from './vero/index.js';
