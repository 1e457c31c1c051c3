import { createRequire } from 'node:module';

// package.json sits one level up from both src/ and dist/; read once at load, never per call.
const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** This package's version, as published; shared by the CLI, the MCP server and the Vero client's User-Agent. */
export const CLIENT_VERSION: string = pkg.version;
