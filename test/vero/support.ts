/** Shared pieces of the Vero client tests: a canary credential, an emulator per file, scripted faults. */
import assert from 'node:assert/strict';
import { VeroClient, type VeroClientOptions } from '../../src/clients/vero/index.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { CANARY } from '../support/canary.js';

export { addFaults } from '../support/faults.js';

export { CANARY };

/** Emulator that accepts only the canary, labelled 'main' in its request log. */
export function startCanaryEmulator(): Promise<RunningEmulator> {
  return startEmulator({ tokens: [{ token: CANARY, label: 'main' }], port: 0 });
}

export function clientFor(emu: RunningEmulator, options: Partial<VeroClientOptions> = {}): VeroClient {
  return new VeroClient({ authToken: CANARY, baseUrl: emu.url, ...options });
}

/** Requests the emulator received for one endpoint, in order. */
export function requestsTo(emu: RunningEmulator, endpoint: string) {
  return emu.state().requests.filter((r) => r.endpoint === endpoint);
}

/** Resolves with what the promise rejected with; fails the test when it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Error, 'rejected with an Error');
    return err;
  }
  assert.fail('expected the call to fail');
}
