import { createRequire } from 'node:module';

// package.json sits two levels up from both src/vero and dist/vero; read once at load, never per call.
const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export const CLIENT_VERSION: string = pkg.version;
export const DEFAULT_USER_AGENT = `kosmo-vero/${CLIENT_VERSION}`;
