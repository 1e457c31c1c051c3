import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CANARY } from '../support/canary.js';
import { cli, launchCli, lines, serve } from './support.js';

describe('kosmo-vero emulator', { concurrency: true }, () => {
  test('the built binary, --port 0: the first stdout line is the base URL; it serves (request log capped by --max-requests); SIGTERM stops it with exit 0', async () => {
    const child = launchCli(['emulator', '--port', '0', '--token', CANARY, '--max-requests', '1']);
    const url = await child.waitForLine(() => true);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v2$/);

    const heartbeat = await fetch(`${url}/heartbeat`);
    assert.equal(heartbeat.status, 200);
    const tracked = await fetch(`${url}/users/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth_token: CANARY, id: 'emu_1', email: 'emu@example.com' }),
    });
    assert.equal(tracked.status, 200);
    const state = (await (await fetch(`${new URL(url).origin}/_emulator/state`)).json()) as {
      users: Array<{ id: string }>;
      requests: Array<{ path: string }>;
      requestsDropped: number;
    };
    assert.deepEqual(
      state.users.map((u) => u.id),
      ['emu_1'],
    );
    // --max-requests 1: the heartbeat was dropped from the log, the write kept.
    assert.deepEqual(
      state.requests.map((r) => r.path),
      ['/api/v2/users/track'],
    );
    assert.equal(state.requestsDropped, 1);

    child.proc.kill('SIGTERM');
    const { code, signal } = await child.exited;
    assert.equal(signal, null, 'stopped by its own handler, not killed');
    assert.equal(code, 0);
    // The request log names the token by label, never by value.
    assert.match(child.stderr(), /users\/track/);
    assert.ok(!child.stderr().includes(CANARY));
  });

  test('in-process: serves until io.signal is aborted, then main resolves to 0', async () => {
    const emulator = serve(['emulator', '--quiet']);
    const [api, inspector] = await emulator.firstLines(2);
    assert.equal(inspector, `${new URL(api ?? '').origin}/_emulator/`);
    assert.equal((await fetch(`${api}/heartbeat`)).status, 200);
    assert.equal(await emulator.stop(), 0);
    await assert.rejects(fetch(`${api}/heartbeat`), 'no longer listening');
  });

  test('a bad --port, --dedup-window or --max-requests: usage error, exit 2, one line', async () => {
    const [port, window, log] = await Promise.all([
      cli(['emulator', '--port', '70000']),
      cli(['emulator', '--dedup-window', '-5']),
      cli(['emulator', '--max-requests', '0']),
    ]);
    assert.equal(log.code, 2);
    assert.deepEqual(lines(log.stderr), ['kosmo-vero: --max-requests: expected a whole number >= 1, got 0']);
    assert.equal(port.code, 2);
    assert.deepEqual(lines(port.stderr), ['kosmo-vero: --port: not a port: 70000']);
    assert.equal(window.code, 2);
    assert.equal(lines(window.stderr).length, 1);
    assert.match(window.stderr, /--dedup-window/);
  });
});
