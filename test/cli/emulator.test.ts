import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { CANARY } from '../support/canary.js';
import { BIN, lines, runCli } from './support.js';

describe('kosmo-vero emulator', { concurrency: true }, () => {
  test('--port 0: the first stdout line is the base URL; it serves; SIGTERM stops it with exit 0', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'emulator', '--port', '0', '--token', CANARY, '--max-requests', '1'],
      {
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = once(child, 'exit');
    const [url] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
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

    child.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.equal(signal, null, 'stopped by its own handler, not killed');
    assert.equal(code, 0);
    // The request log names the token by label, never by value.
    assert.match(stderr, /users\/track/);
    assert.ok(!stderr.includes(CANARY));
  });

  test('a bad --port, --dedup-window or --max-requests: usage error, exit 2, one line', async () => {
    const [port, window, log] = await Promise.all([
      runCli(['emulator', '--port', '70000']),
      runCli(['emulator', '--dedup-window', '-5']),
      runCli(['emulator', '--max-requests', '0']),
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
