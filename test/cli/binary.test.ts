/**
 * Smoke tests of the built binary (src/cli/bin.ts around main): what only a real process shows. Start-up loads
 * no more than the command needs, exit codes reach the shell, and signals end it the usual way. The other CLI
 * tests call main() in-process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startEmulator } from '../../src/emulator/index.js';
import { builtinAccountEnvironments } from '../../src/integrations/accounts.js';
import { builtinIntegrations } from '../../src/integrations/index.js';
import { CANARY } from '../support/canary.js';
import { runToEnd } from '../support/process.js';
import { BIN, isolatedEnv, launchCli, runCli } from './support.js';

const RECORDER = new URL('../support/record-imports.mjs', import.meta.url).pathname;
const BIN_DIR = pathToFileURL(`${dirname(BIN)}/`).href;
/** The binary is bundled (scripts/bundle-cli.mjs): each of its files, with the modules (project paths) it holds. */
const bundleContents = JSON.parse(readFileSync(join(dirname(BIN), 'bundle-contents.json'), 'utf8')) as Record<
  string,
  string[]
>;

/** The modules `kosmo-vero ...args` imported, relative to the project (packages by name). */
async function importsOf(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const file = join(mkdtempSync(join(tmpdir(), 'kosmo-imports-')), 'imports.txt');
  const run = await runToEnd(process.execPath, ['--import', RECORDER, BIN, ...args], {
    env: isolatedEnv({ KOSMO_RECORD_IMPORTS: file, ...env }),
  });
  const root = new URL('../../', import.meta.url).href;
  const modules = readFileSync(file, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith(root))
    .flatMap(
      (url) =>
        (url.startsWith(BIN_DIR) && bundleContents[url.slice(BIN_DIR.length)]) || url.slice(root.length),
    )
    .map((path) => path.replace(/^node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, '$1'));
  return { code: run.code, stdout: run.stdout, stderr: run.stderr, modules: [...new Set(modules)] };
}

describe('the built binary', { concurrency: true }, () => {
  for (const args of [['--version'], ['--help'], ['run', '--help']]) {
    test(`${args.join(' ')} loads no runtime, zod, SQLite, emulator or Lua`, async () => {
      const { code, stdout, modules } = await importsOf(args);
      assert.equal(code, 0);
      assert.ok(stdout.length > 0);
      assert.ok(modules.includes('dist/cli/main.js'), modules.join('\n'));
      const heavy = modules.filter((m) =>
        /^(zod|better-sqlite3|wasmoon|@modelcontextprotocol\/sdk|csv-parse)$|^dist\/(runtime\/runtime|emulator\/index|lua|outbox|mcp)/.test(
          m,
        ),
      );
      assert.deepEqual(heavy, []);
    });
  }

  test('a run that delivers directly loads no outbox driver (SQLite, PostgreSQL) and no CSV parser', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'kosmo-imports-')), 'hello.lua');
    writeFileSync(script, 'print("hello")');
    const { code, stdout, stderr, modules } = await importsOf(['run', script], { VERO_AUTH_TOKEN: CANARY });
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'hello\n');
    assert.ok(modules.includes('dist/lua/pool.js'), modules.join('\n'));
    assert.deepEqual(
      modules.filter((m) => /^(better-sqlite3|pg|csv-parse)$|^dist\/emulator\/index/.test(m)),
      [],
    );
    // The recorder sees packages loaded with require: `outbox status` opens the SQLite outbox.
    const status = await importsOf(['outbox', 'status'], {
      KOSMO_VERO_OUTBOX: join(dirname(script), 'outbox.db'),
    });
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.modules.includes('better-sqlite3'), status.modules.join('\n'));
  });

  test('the help text lists the accounts of every built-in integration, as the runtime has them', () => {
    assert.deepEqual(
      builtinAccountEnvironments,
      builtinIntegrations.map((integration) => ({
        integration: integration.name,
        accounts: integration.accounts,
      })),
    );
  });

  test('run a script file: its output, exit 0, the writes reach Vero', async () => {
    const emulator = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    try {
      const outbox = join(mkdtempSync(join(tmpdir(), 'kosmo-binary-')), 'outbox.db');
      const { code, stdout, stderr } = await runCli(['run', 'examples/onboard.lua'], {
        env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: emulator.url, KOSMO_VERO_OUTBOX: outbox },
      });
      assert.equal(code, 0, stderr);
      assert.equal(stdout, 'onboarded usr_456\n');
      assert.equal(emulator.state().users[0]?.id, 'usr_456');
      assert.equal(emulator.state().events[0]?.event_name, 'Signed up');
    } finally {
      await emulator.close();
    }
  });

  test('exit codes reach the shell: 0 ok, 1 script error, 2 usage error', async () => {
    const [ok, failed, usage] = await Promise.all([
      runCli(['run', '-', '--dry-run'], { input: 'print("ok")' }),
      runCli(['run', '-', '--dry-run'], { input: 'error("boom")' }),
      runCli(['run']),
    ]);
    assert.deepEqual([ok.code, ok.stdout], [0, 'ok\n']);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /script error \(line 1\): .*boom/);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument 'file'/);
  });

  test('Ctrl-C ends a command that does not serve the usual way: killed by SIGINT', async () => {
    // A Vero that never answers: the call is in flight when the signal comes.
    let arrived!: () => void;
    const requested = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const server = createServer(() => arrived());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const child = launchCli(['call', 'vero.get_current_user'], {
        env: { VERO_AUTH_TOKEN: CANARY, VERO_BASE_URL: `http://127.0.0.1:${port}/api/v2` },
      });
      await requested;
      child.proc.kill('SIGINT');
      const { code, signal } = await child.exited;
      assert.deepEqual([code, signal], [null, 'SIGINT']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('run --emulator --keep serves until Ctrl-C, then exits 0', async () => {
    const child = launchCli(['run', '-', '--emulator', '--keep']);
    child.proc.stdin.end('print("kept")');
    await new Promise<void>((resolve) => {
      const seen = () => child.stderr().includes('emulator still serving');
      if (seen()) return resolve();
      child.proc.stderr.on('data', () => seen() && resolve());
    });
    child.proc.kill('SIGINT');
    const { code, signal } = await child.exited;
    assert.deepEqual([code, signal], [0, null]);
    assert.equal(child.stdout(), 'kept\n');
  });
});
