/** The MCP surface: a server over a runtime, and stdio serving for `kosmo-vero mcp`. */
export { createMcpServer, type McpServerOptions } from './server.js';
export { type StdioOptions, serveStdio } from './stdio.js';
