import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type AttemptInfo,
  parseRetryAfter,
  VeroAuthError,
  VeroClient,
  VeroNetworkError,
  VeroRateLimitError,
  VeroServerError,
  VeroTimeoutError,
  VeroValidationError,
} from '../../src/clients/vero/index.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { manualClock } from '../support/clock.js';
import { addFaults, CANARY, clientFor, rejection, requestsTo, startCanaryEmulator } from './support.js';

let emu: RunningEmulator;

before(async () => {
  emu = await startCanaryEmulator();
});
after(async () => {
  await emu.close();
});
beforeEach(() => emu.reset());

/** Client with short backoff that records every attempt, and every wait between attempts instead of waiting. */
function recordingClient(options: Partial<ConstructorParameters<typeof VeroClient>[0]> = {}) {
  const attempts: AttemptInfo[] = [];
  const waits: number[] = [];
  const vero = clientFor(emu, {
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    onAttempt: (info) => attempts.push(info),
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...options,
  });
  return { vero, attempts, waits };
}

describe('VeroClient retries', () => {
  it('503, 503, then success: one result after three requests', async () => {
    await addFaults(emu, [{ endpoint: '/users/track', status: 503, count: 2 }]);
    const { vero, attempts, waits } = recordingClient();
    const result = await vero.identify({ id: 'r1' });
    assert.deepEqual(result, { status: 200, message: 'Success.', duplicate: false });
    assert.deepEqual(
      requestsTo(emu, '/users/track').map((r) => r.status),
      [503, 503, 200],
    );
    assert.deepEqual(
      attempts.map((a) => [a.operation, a.attempt, a.status]),
      [
        ['identify', 1, 503],
        ['identify', 2, 503],
        ['identify', 3, 200],
      ],
    );
    assert.ok(attempts[0]?.error?.startsWith('HTTP 503'));
    assert.equal(typeof attempts[0]?.delayMs, 'number');
    assert.ok(
      (attempts[0]?.delayMs ?? -1) <= 10 && (attempts[1]?.delayMs ?? -1) <= 20,
      'full jitter under the cap',
    );
    assert.equal(attempts[2]?.delayMs, undefined);
    assert.deepEqual(waits, [attempts[0]?.delayMs, attempts[1]?.delayMs], 'waited what it reported');
    assert.equal(emu.state().users.length, 1);
  });

  it('429 with Retry-After: 1 waits a second before the next attempt', async () => {
    await addFaults(emu, [{ endpoint: '/events/track', status: 429, retryAfter: '1', count: 1 }]);
    const { vero, attempts, waits } = recordingClient();
    const result = await vero.trackEvent({ identity: { id: 'r2' }, eventName: 'paid' });
    assert.equal(result.status, 200);
    assert.equal(attempts[0]?.delayMs, 1000);
    assert.deepEqual(waits, [1000]);
    assert.deepEqual(
      requestsTo(emu, '/events/track').map((r) => r.status),
      [429, 200],
    );
  });

  it('honours Retry-After given as an HTTP date', async () => {
    // The client reads the date against its clock: a whole second, so the HTTP date (whole seconds) is exact.
    const clock = manualClock('2026-03-01T12:00:00Z');
    const retryAfter = new Date(clock.now().getTime() + 2000).toUTCString();
    await addFaults(emu, [{ endpoint: '/users/track', status: 503, retryAfter, count: 1 }]);
    const { vero, attempts, waits } = recordingClient({ now: clock.now });
    await vero.identify({ id: 'r3' });
    assert.equal(attempts[0]?.delayMs, 2000);
    assert.deepEqual(waits, [2000]);
    assert.equal(requestsTo(emu, '/users/track').length, 2);
  });

  it('stops at once when Retry-After exceeds the remaining budget, with retryAfterMs', async () => {
    await addFaults(emu, [{ endpoint: '/users/track', status: 429, retryAfter: '120', count: 1 }]);
    const { vero, attempts, waits } = recordingClient({ retry: { maxTotalMs: 5000 } });
    const err = await rejection(vero.identify({ id: 'r4' }));
    assert.deepEqual(waits, [], 'no wait');
    assert.ok(err instanceof VeroRateLimitError);
    assert.equal(err.code, 'vero_rate_limit');
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 120_000);
    assert.equal(err.endpoint, '/users/track');
    assert.match(
      err.message,
      /^Vero \/users\/track is rate limiting \(HTTP 429: ".+"\)\. Wait at least 120 s/,
    );
    assert.equal(requestsTo(emu, '/users/track').length, 1);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]?.delayMs, undefined);
  });

  it('429 on every attempt gives the rate-limit error after the configured attempts', async () => {
    await addFaults(emu, [{ endpoint: '/users/track', status: 429, forever: true }]);
    const { vero } = recordingClient({ retry: { attempts: 3, baseDelayMs: 5 } });
    const err = await rejection(vero.identify({ id: 'r5' }));
    assert.ok(err instanceof VeroRateLimitError);
    assert.match(err.message, /; 3 attempts\)/);
    assert.equal(requestsTo(emu, '/users/track').length, 3);
  });

  it('a server that never answers gives VeroTimeoutError within the bound', async () => {
    await addFaults(emu, [{ endpoint: '/users/track', hang: true, forever: true }]);
    const { vero, attempts } = recordingClient({ timeoutMs: 300, retry: { attempts: 2, baseDelayMs: 10 } });
    const err = await rejection(vero.identify({ id: 'r6' }));
    assert.ok(err instanceof VeroTimeoutError);
    assert.equal(err.code, 'vero_timeout');
    assert.equal(err.status, undefined);
    assert.match(
      err.message,
      /^Vero \/users\/track did not answer within 300 ms \(no response; 2 attempts\)/,
    );
    assert.deepEqual(
      attempts.map((a) => a.error),
      ['timeout after 300 ms', 'timeout after 300 ms'],
    );
    assert.equal(requestsTo(emu, '/users/track').length, 2);
  });

  it('maxTotalMs bounds the whole call even when timeoutMs is long', async () => {
    await addFaults(emu, [{ endpoint: '/users/track', hang: true, forever: true }]);
    const { vero, attempts } = recordingClient({ timeoutMs: 30_000, retry: { maxTotalMs: 400 } });
    const err = await rejection(vero.identify({ id: 'r7' }));
    assert.ok(err instanceof VeroTimeoutError);
    // Each attempt's deadline is what is left of the budget, never the 30 s timeout.
    const deadlines = attempts.map((a) => Number(/^timeout after (\d+) ms$/.exec(a.error ?? '')?.[1]));
    assert.ok(deadlines.length >= 1);
    for (const ms of deadlines) assert.ok(ms >= 1 && ms <= 400, `attempt deadline ${ms} ms`);
  });

  it('never retries 400', async () => {
    await addFaults(emu, [
      { endpoint: '/users/track', status: 400, body: { status: 400, message: 'Bad email.' }, count: 5 },
    ]);
    const { vero, attempts } = recordingClient();
    const err = await rejection(vero.identify({ id: 'r8' }));
    assert.ok(err instanceof VeroValidationError);
    assert.equal(err.status, 400);
    assert.equal(err.veroMessage, 'Bad email.');
    assert.equal(
      err.message,
      'Vero /users/track rejected the request data (HTTP 400: "Bad email."). Fix the arguments; sending the same request again will fail the same way.',
    );
    assert.equal(requestsTo(emu, '/users/track').length, 1);
    assert.equal(attempts.length, 1);
  });

  it('never retries 401: a wrong token is an auth error with code vero_auth', async () => {
    const { vero } = recordingClient({ authToken: 'wrong-token' });
    const err = await rejection(vero.identify({ id: 'r9' }));
    assert.ok(err instanceof VeroAuthError);
    assert.equal(err.code, 'vero_auth');
    assert.equal(err.status, 401);
    assert.equal(err.retryable, false);
    assert.match(err.message, /^Vero \/users\/track refused the credential \(HTTP 401/);
    assert.match(err.message, /Check the auth token or tracking API key/);
    assert.deepEqual(
      requestsTo(emu, '/users/track').map((r) => [r.status, r.token]),
      [[401, 'unknown']],
    );
  });

  it('never retries 500', async () => {
    await addFaults(emu, [{ endpoint: '/users/delete', status: 500, count: 5 }]);
    const { vero } = recordingClient();
    const err = await rejection(vero.deleteUser({ id: 'r10' }));
    assert.ok(err instanceof VeroServerError);
    assert.equal(err.status, 500);
    assert.equal(requestsTo(emu, '/users/delete').length, 1);
  });

  it('retry: false sends once', async () => {
    await addFaults(emu, [{ endpoint: '/users/track', status: 503, count: 5 }]);
    const { vero } = recordingClient({ retry: false });
    const err = await rejection(vero.identify({ id: 'r11' }));
    assert.ok(err instanceof VeroServerError);
    assert.equal(err.code, 'vero_server');
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.equal(requestsTo(emu, '/users/track').length, 1);
  });

  it('a dropped connection is retried', async () => {
    await addFaults(emu, [{ endpoint: '/users/track', drop: true, count: 1 }]);
    const { vero, attempts } = recordingClient();
    const result = await vero.identify({ id: 'r12' });
    assert.equal(result.status, 200);
    assert.match(attempts[0]?.error ?? '', /^network: /);
    assert.equal(attempts[0]?.status, undefined);
    assert.deepEqual(
      requestsTo(emu, '/users/track').map((r) => r.status),
      [null, 200],
    );
  });

  it('nothing listening: VeroNetworkError after the attempts, naming the reason', async () => {
    const port = await freePort();
    const vero = new VeroClient({
      authToken: CANARY,
      baseUrl: `http://127.0.0.1:${port}/api/v2`,
      retry: { attempts: 2, baseDelayMs: 5 },
    });
    const err = await rejection(vero.unsubscribe({ id: 'r13' }));
    assert.ok(err instanceof VeroNetworkError);
    assert.equal(err.code, 'vero_network');
    assert.match(
      err.message,
      /^Could not reach Vero \/users\/unsubscribe \(no response: .*ECONNREFUSED.*; 2 attempts\)/,
    );
  });
});

describe('VeroClient.heartbeat', () => {
  it('reports a timeout as ok false, never throws', async () => {
    await addFaults(emu, [{ endpoint: '/heartbeat', hang: true, count: 1 }]);
    const beat = await clientFor(emu, { timeoutMs: 200 }).heartbeat();
    assert.equal(beat.ok, false);
    assert.equal(beat.error, 'timeout after 200 ms');
    assert.equal(beat.status, undefined);
  });

  it('reports an error status with the reason', async () => {
    await addFaults(emu, [{ endpoint: '/heartbeat', status: 503, count: 1 }]);
    const beat = await clientFor(emu).heartbeat();
    assert.equal(beat.ok, false);
    assert.equal(beat.status, 503);
    assert.match(beat.error ?? '', /^HTTP 503/);
  });

  it('reports a server that is down', async () => {
    const port = await freePort();
    const beat = await new VeroClient({
      authToken: CANARY,
      baseUrl: `http://127.0.0.1:${port}/api/v2`,
    }).heartbeat();
    assert.equal(beat.ok, false);
    assert.match(beat.error ?? '', /^network: .*ECONNREFUSED/);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(' 0.5 ', now), 500);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:07 GMT', now), 7000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
  });
});

/** A port nobody listens on: bind, read it, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise((resolve) => server.close(resolve));
  return address.port;
}
