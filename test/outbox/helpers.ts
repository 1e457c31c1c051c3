import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DestinationInput, OutboxJobInput } from '../../src/outbox/index.js';
import { type Launched, launch } from '../support/process.js';

export { CANARY } from '../support/canary.js';

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory in os.tmpdir(), removed when the process exits. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kosmo-outbox-'));
  made.push(dir);
  return dir;
}

export function tempDb(): string {
  return path.join(tempDir(), 'outbox.db');
}

/** The one destination the generic outbox tests queue for and deliver to. */
export const TEST_DESTINATION: DestinationInput = {
  integration: 'test',
  account: 'default',
  endpoint: 'http://127.0.0.1:9/test',
  credential: 'test-credential-0001',
};

/** A job ordered by one key, or by several. */
export function job(
  orderingKeys: string | string[],
  payload: unknown,
  fn = 'test.write',
  destination = TEST_DESTINATION,
): OutboxJobInput {
  const keys = typeof orderingKeys === 'string' ? [orderingKeys] : orderingKeys;
  return { destination, fn, orderingKeys: keys, payload };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An error shaped like src/clients/vero/errors.ts ones, without depending on them. */
export function failure(message: string, fields: { retryable?: boolean; retryAfterMs?: number } = {}): Error {
  return Object.assign(new Error(message), fields);
}

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

/** A fixture under test/outbox/fixtures, run from its TypeScript source; stdin stays open (the fixtures never read it). */
export const spawnFixture = (name: string, args: string[]): Launched =>
  launch(process.execPath, ['--import', 'tsx', path.join(FIXTURES, name), ...args], { keepStdin: true });
