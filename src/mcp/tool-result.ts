import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { toErrorInfo } from '../errors.js';

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
  return jsonResult({ ok: false, error: toErrorInfo(error) }, true);
}
