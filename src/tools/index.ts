export { callTool, runSpec, type ToolCallOptions, UnknownToolError, unknownToolError } from './call-tool.js';
export {
  type ToolAction,
  type ToolDefinition,
  type ToolHints,
  type ToolSpec,
  toolDefinitions,
  toolSpecs,
} from './definitions.js';
