import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  type AttemptInfo,
  VeroAuthError,
  VeroClient,
  type VeroClientOptions,
  VeroConfigError,
  VeroNetworkError,
  VeroRateLimitError,
  VeroServerError,
  VeroTimeoutError,
  VeroValidationError,
} from '../../src/clients/vero/index.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { addFaults, CANARY, clientFor, rejection, startCanaryEmulator } from './support.js';

let emu: RunningEmulator;
let otherEmu: RunningEmulator;

before(async () => {
  emu = await startCanaryEmulator();
  otherEmu = await startEmulator({ tokens: [{ token: 'some-other-token', label: 'other' }], port: 0 });
});
after(async () => {
  await emu.close();
  await otherEmu.close();
});

/** Every way an error can be looked at: message, stack, JSON, inspect, and the same for its cause chain. */
function assertNoCanary(err: unknown, label: string): void {
  const views: string[] = [
    String(err),
    JSON.stringify(err),
    inspect(err, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
  ];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (current instanceof Error) {
      views.push(
        current.message,
        current.stack ?? '',
        JSON.stringify(current, Object.getOwnPropertyNames(current)),
      );
    } else {
      views.push(JSON.stringify(current) ?? String(current));
    }
    current = (current as { cause?: unknown }).cause;
  }
  for (const view of views)
    assert.ok(!view.includes(CANARY), `${label}: credential leaked in ${view.slice(0, 300)}`);
}

describe('the credential never leaks', () => {
  it('is absent from every error, attempt log and dry-run output', async () => {
    const attempts: AttemptInfo[] = [];
    const onAttempt = (info: AttemptInfo) => attempts.push(info);
    const quick = { baseDelayMs: 5, maxDelayMs: 10 };
    const errors: Array<[string, Error]> = [];
    const collect = async (label: string, promise: Promise<unknown>) => {
      errors.push([label, await rejection(promise)]);
    };

    // Wrong token: the emulator only knows another one.
    const wrong = new VeroClient({ authToken: CANARY, baseUrl: otherEmu.url, onAttempt });
    await collect('auth', wrong.identify({ id: 's1' }));
    const auth = errors.at(-1)?.[1];
    assert.ok(auth instanceof VeroAuthError);
    assert.equal(auth.code, 'vero_auth');

    // A client per scenario: only the timeout scenario has a short timeout, so a slow answer on a busy machine
    // cannot turn another scenario into a timeout.
    const scenario = (options: Partial<VeroClientOptions> = {}) =>
      clientFor(emu, { onAttempt, retry: { ...quick, attempts: 2 }, ...options });
    const vero = scenario();

    // Vero (or a proxy) echoing the credential back in its message.
    await addFaults(emu, [
      { endpoint: '/users/track', status: 400, body: { message: `bad auth_token ${CANARY}` }, count: 1 },
    ]);
    await collect('400 echo', scenario().identify({ id: 's2' }));
    const echoed = errors.at(-1)?.[1];
    assert.ok(echoed instanceof VeroValidationError);
    assert.equal(echoed.veroMessage, 'bad auth_token [redacted]');

    await addFaults(emu, [{ endpoint: '/users/track', status: 429, retryAfter: '600', count: 1 }]);
    await collect('429', scenario().identify({ id: 's3' }));
    assert.ok(errors.at(-1)?.[1] instanceof VeroRateLimitError);

    await addFaults(emu, [{ endpoint: '/users/track', status: 503, count: 2 }]);
    await collect('503', scenario().identify({ id: 's4' }));
    assert.ok(errors.at(-1)?.[1] instanceof VeroServerError);

    await addFaults(emu, [{ endpoint: '/users/track', drop: true, count: 2 }]);
    await collect('drop', scenario().identify({ id: 's6' }));
    assert.ok(errors.at(-1)?.[1] instanceof VeroNetworkError);

    // Last of the emulator scenarios: a request that times out before it arrives leaves its hang fault queued.
    await addFaults(emu, [{ endpoint: '/users/track', hang: true, count: 2 }]);
    await collect('timeout', scenario({ timeoutMs: 200 }).identify({ id: 's5' }));
    assert.ok(errors.at(-1)?.[1] instanceof VeroTimeoutError);
    emu.reset();

    // A fetch implementation whose error carries the request body: it must not come through.
    const leakyFetch: typeof fetch = async (_url, init) => {
      throw new TypeError(`fetch failed for body ${String(init?.body)}`, { cause: { body: init?.body } });
    };
    const leaky = new VeroClient({
      authToken: CANARY,
      baseUrl: emu.url,
      fetch: leakyFetch,
      retry: false,
      onAttempt,
    });
    await collect('leaky fetch', leaky.identify({ id: 's7' }));
    const leak = errors.at(-1)?.[1];
    assert.ok(leak instanceof VeroNetworkError);
    assert.match(leak.message, /\[redacted\]/);

    await collect('local validation', vero.identify({ email: 'bob@' }));
    errors.push([
      'config',
      (() => {
        try {
          new VeroClient({ authToken: CANARY, trackingApiKey: CANARY });
        } catch (err) {
          assert.ok(err instanceof VeroConfigError);
          return err;
        }
        assert.fail('expected a config error');
      })(),
    ]);

    for (const [label, err] of errors) assertNoCanary(err, label);

    assert.ok(attempts.length >= 9, `${attempts.length} attempts logged`);
    assert.ok(!JSON.stringify(attempts).includes(CANARY), 'onAttempt logs');
    assert.ok(!inspect(attempts, { depth: Number.POSITIVE_INFINITY }).includes(CANARY), 'onAttempt logs');

    const prepared = vero.prepare('identify', { id: 's8', email: 'ada@example.com' });
    assert.equal(prepared.body?.auth_token, '[redacted]');
    assert.ok(!JSON.stringify(prepared).includes(CANARY), 'prepare output');
    const keyed = new VeroClient({ trackingApiKey: CANARY, baseUrl: emu.url });
    assert.equal(keyed.prepare('deleteUser', { id: 's9' }).body?.tracking_api_key, '[redacted]');

    for (const client of [vero, keyed, wrong]) {
      const views = [
        JSON.stringify(client),
        inspect(client, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      ];
      for (const view of views) assert.ok(!view.includes(CANARY), `client object: ${view}`);
    }
  });
});
