/** The MCP surface: a server over a runtime, stdio serving for `kosmo-vero mcp`, HTTP for `kosmo-vero serve`. */
export { type ClientToken, clientTokens, type ServeClient, type TokenPolicy } from './client-tokens.js';
export { type HttpServeOptions, type HttpServer, serveHttp } from './http.js';
export { createMcpServer, type McpServerOptions } from './server.js';
export { type StdioOptions, serveStdio } from './stdio.js';
