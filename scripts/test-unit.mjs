/**
 * `npm run test:unit`: the inner-loop tier. Every test file except the ones that start processes (the built CLI,
 * crash fixtures, a browser), kill them (SIGKILL storms) or abuse the sandbox on purpose: those stay in `npm test`,
 * which runs every file, each in a process of its own. Here they all load into this one process: a process per
 * file pays tsx's start-up and the runtime's import each time, half this tier's CPU. Needs no build.
 * Run as the npm script does: node --import tsx --import ./test/support/user-data-guard.mjs scripts/test-unit.mjs
 */
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const NOT_UNIT = new Set([
  'test/browser/inspector.test.ts', // drives Chromium
  'test/browser/inspector-api.test.ts',
  'test/cli/binary.test.ts', // the built binary
  'test/cli/first-hour.test.ts', // terminals and npm run demo
  'test/mcp/hostile.test.ts', // the built binary, 10 MiB lines
  'test/lua/adversarial.test.ts', // runaway scripts until their limits
  'test/lua/adversarial-host.test.ts',
  'test/lua/pool-start.test.ts', // workers that fail to start
  'test/cli/outbox-postgres.test.ts', // the built binary on a PostgreSQL outbox
  'test/outbox/crash.test.ts', // SIGKILL storms
  'test/outbox/postgres-multi.test.ts', // producer and drainer processes, drainers SIGKILLed
  'test/outbox/storage-faults.test.ts', // killed holders, full disks
  'test/outbox/user-data-guard.test.ts', // a child process per case
  'test/vero/transport.test.ts', // a child process that must exit by itself
]);

// test/*/*.test.ts, as `npm test` selects them (Node 20 has no fs.glob).
const files = readdirSync('test', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((dir) => readdirSync(`test/${dir.name}`).map((name) => `test/${dir.name}/${name}`))
  .filter((file) => file.endsWith('.test.ts') && !NOT_UNIT.has(file))
  .sort();
// Importing a file registers its tests with node:test, which runs them here.
for (const file of files) await import(pathToFileURL(file).href);
