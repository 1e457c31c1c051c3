import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { KosmoError } from '../errors.js';

export interface ToolError {
  code: string;
  message: string;
  /** Vero errors say whether the same call may succeed later. */
  retryable?: boolean;
}

/** The stable code and message of anything a tool throws; unexpected errors become `internal`. */
export function toolError(error: unknown): ToolError {
  if (error instanceof KosmoError) {
    const retryable = (error as { retryable?: unknown }).retryable;
    return typeof retryable === 'boolean'
      ? { code: error.code, message: error.message, retryable }
      : { code: error.code, message: error.message };
  }
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

const asText = (value: unknown): string => JSON.stringify(value, null, 2);

/** A JSON result: pretty JSON as text for every client, and the object itself as structured content. */
export function jsonResult(value: Record<string, unknown>, isError = false): CallToolResult {
  const result: CallToolResult = {
    content: [{ type: 'text', text: asText(value) }],
    structuredContent: value,
  };
  if (isError) result.isError = true;
  return result;
}

/** A plain-text result (a doc page reads better as markdown than as a JSON string). */
export function textResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }] };
}

/** A tool error: `{ ok: false, error: { code, message } }`, flagged `isError` so the model sees it failed. */
export function errorResult(error: unknown): CallToolResult {
  return jsonResult({ ok: false, error: toolError(error) }, true);
}
