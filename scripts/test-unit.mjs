/**
 * `npm run test:unit`: the inner-loop tier, about ten seconds. The files here start no process, no browser and only a
 * few Lua sandboxes: validation tables, the emulator's endpoints, the wire client, the outbox's store and ordering,
 * the layer rules, the docs, Lua value conversion and json.lua's corpus. They load into this one process, which pays
 * tsx's start-up and the runtime's import once. Everything else (the CLI, MCP, the sandbox under attack, SIGKILL
 * storms, the browser) runs only in `npm test`, which runs every file, each in a process of its own. Needs no build.
 * Run as the npm script does: node --import tsx --import ./test/support/user-data-guard.mjs --import ./test/support/temp-dir.mjs
 *   scripts/test-unit.mjs
 */
import { pathToFileURL } from 'node:url';

const UNIT = [
  'test/emulator/auth.test.ts',
  'test/emulator/dedup.test.ts',
  'test/emulator/endpoints.test.ts',
  'test/emulator/hardening.test.ts',
  'test/emulator/persistence.test.ts',
  'test/emulator/real-clients.test.ts',
  'test/emulator/request-log.test.ts',
  'test/emulator/validation.test.ts',
  'test/emulator/vero-sdk.test.ts',
  'test/layers/copy-assets.test.ts',
  'test/layers/imports.test.ts',
  'test/lua/helpers.test.ts',
  'test/lua/json-corpus.test.ts',
  'test/lua/values.test.ts',
  'test/mcp/client-tokens.test.ts',
  'test/outbox/conformance-sqlite.test.ts',
  'test/outbox/migration.test.ts',
  'test/outbox/ordering.test.ts',
  'test/outbox/outbox.test.ts',
  'test/runtime/destinations.test.ts',
  'test/runtime/docs.test.ts',
  'test/runtime/request-shapes.test.ts',
  'test/runtime/validation.test.ts',
  'test/vero/endpoints.test.ts',
  'test/vero/secrets.test.ts',
  'test/vero/validation.test.ts',
];

// Importing a file registers its tests with node:test, which runs them here.
for (const file of UNIT) await import(pathToFileURL(file).href);
