import assert from 'node:assert/strict';
import type { EmulatorFault, RunningEmulator } from '../../src/emulator/index.js';

/** Scripts failures in a running emulator (POST /_emulator/faults) and checks it accepted them. */
export async function addFaults(
  emulator: Pick<RunningEmulator, 'origin'>,
  faults: EmulatorFault[],
): Promise<void> {
  const res = await fetch(`${emulator.origin}/_emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ faults }),
  });
  assert.equal(res.status, 200, await res.text());
}
