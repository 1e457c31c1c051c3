import * as z from 'zod';

/**
 * A zod schema for `McpServer.registerTool` that lists as `jsonSchema` exactly and accepts any arguments object.
 *
 * Why: the SDK validates tool arguments itself before calling the handler, with zod's default messages
 * ("Invalid arguments for tool ...") and no error code, and it calls nothing for a bad argument. We validate in the
 * handler instead (`runtime.call` with the function's own schema), so an agent gets the same message and code as in
 * Lua and the CLI (`vero.identify_user: email: invalid email address "bob@"`), and the call is logged. The listing
 * still shows the function's real schema: zod lets a schema supply its own JSON Schema (`_zod.toJSONSchema`).
 */
export function listedSchema(jsonSchema: Record<string, unknown>): z.ZodType {
  const schema = z.looseObject({});
  schema._zod.toJSONSchema = () => structuredClone(jsonSchema);
  return schema;
}
