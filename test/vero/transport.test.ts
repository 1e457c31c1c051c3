/** The default node:http(s) transport: the process exits on its own after client use; an https: base speaks TLS. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { describeFetchFailure } from '../../src/clients/vero/failures.js';
import { VeroClient, VeroNetworkError } from '../../src/clients/vero/index.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { launch } from '../support/process.js';
import { addFaults, CANARY, rejection, startCanaryEmulator } from './support.js';

let emu: RunningEmulator;
before(async () => {
  emu = await startCanaryEmulator();
});
after(async () => {
  await emu.close();
});

describe('default transport', () => {
  it('a process exits on its own after its last call, even after a timeout against a hanging server', async () => {
    // The emulator keeps idle connections for 30 s, so a ref'd keep-alive socket (or a leaked timer or
    // socket from the timed-out request) would hold the child past the give-up below.
    await addFaults(emu, [{ endpoint: '/users/track', hang: true, count: 1 }]);
    const clientModule = new URL('../../src/clients/vero/index.ts', import.meta.url).href;
    const script = `
      const { VeroClient, VeroTimeoutError } = await import(${JSON.stringify(clientModule)});
      const vero = new VeroClient({ authToken: process.env.TOKEN, baseUrl: process.env.BASE, timeoutMs: 300, retry: false });
      const timedOut = await vero.identify({ id: 'exit-1' }).catch((err) => err);
      if (!(timedOut instanceof VeroTimeoutError)) throw new Error('expected a timeout, got ' + timedOut);
      const ok = await vero.trackEvent({ identity: { id: 'exit-1' }, eventName: 'exit-check' });
      const beat = await vero.heartbeat();
      console.log(JSON.stringify({ status: ok.status, beat: beat.ok }));
    `;
    const started = performance.now();
    const child = launch(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, TOKEN: CANARY, BASE: emu.url },
    });
    // The give-up: the emulator holds idle connections for 30 s, so a child still running at 20 s is held by one.
    const killer = setTimeout(() => child.proc.kill('SIGKILL'), 20_000);
    const { code, signal } = await child.exited;
    const [stdout, stderr] = [child.stdout(), child.stderr()];
    clearTimeout(killer);
    const elapsed = performance.now() - started;
    assert.equal(signal, null, `child was killed after ${Math.round(elapsed)} ms; stderr: ${stderr}`);
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { status: 200, beat: true });
    assert.ok(!stdout.includes(CANARY) && !stderr.includes(CANARY));
  });

  it('an https: base URL speaks TLS (a plain TCP listener sees a ClientHello), then fails as a network error', async () => {
    let firstBytes: Buffer | undefined;
    const server = createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        firstBytes ??= chunk;
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      assert.ok(address !== null && typeof address === 'object');
      const vero = new VeroClient({
        authToken: CANARY,
        baseUrl: `https://127.0.0.1:${address.port}/api/v2`,
        retry: false,
      });
      const err = await rejection(vero.identify({ id: 'tls-1' }));
      assert.ok(err instanceof VeroNetworkError, String(err));
      assert.ok(!err.message.includes(CANARY));
      // TLS handshake record (0x16), not an HTTP request line: the credential never went out in clear.
      assert.equal(firstBytes?.[0], 0x16);
      assert.ok(!firstBytes?.toString('latin1').includes(CANARY));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('describes a dual-stack connect failure (an AggregateError with no message) by its first error', () => {
    const first = Object.assign(new Error('connect ECONNREFUSED ::1:443'), { code: 'ECONNREFUSED' });
    const second = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' });
    const aggregate = Object.assign(new AggregateError([first, second], ''), { code: 'ECONNREFUSED' });
    assert.equal(describeFetchFailure(aggregate, CANARY), 'connect ECONNREFUSED ::1:443');
  });
});
