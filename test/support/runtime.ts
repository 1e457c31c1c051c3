import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createRuntime } from '../../src/index.js';
import type { Runtime, RuntimeOptions } from '../../src/runtime/runtime.js';
import { CANARY, CANARY_MARKETING } from './canary.js';

export interface Harness {
  emulator: RunningEmulator;
  runtime: Runtime;
  close(): Promise<void>;
}

/**
 * A real emulator on 127.0.0.1 that accepts the two canary tokens (labelled `default` and `marketing`), and a
 * runtime whose default and marketing accounts point at it. Its outbox is a temporary file unless `outbox` says.
 */
export async function startHarness(options: RuntimeOptions = {}): Promise<Harness> {
  const emulator = await startEmulator({
    tokens: [
      { token: CANARY, label: 'default' },
      { token: CANARY_MARKETING, label: 'marketing' },
    ],
  });
  const runtime = createRuntime({
    env: {
      VERO_AUTH_TOKEN: CANARY,
      VERO_BASE_URL: emulator.url,
      VERO_EMAIL: 'ops@example.com',
      VERO_MARKETING_AUTH_TOKEN: CANARY_MARKETING,
      VERO_MARKETING_BASE_URL: emulator.url,
    },
    outbox: join(mkdtempSync(join(tmpdir(), 'kosmo-harness-')), 'outbox.db'),
    ...options,
  });
  return {
    emulator,
    runtime,
    async close() {
      await runtime.close();
      await emulator.close();
    },
  };
}
