import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DestinationInput, OutboxJobInput } from '../../src/outbox/index.js';

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

export interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first stdout line matching. */
  waitForLine(test: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnFixture(name: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, name), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let buffered = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    lines,
    exited,
    stderr: () => stderr,
    waitForLine(test) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const listener = (line: string) => {
          if (!test(line)) return;
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
        void exited.then(() => {
          if (listeners.delete(listener)) reject(new Error(`${name} exited first; stderr: ${stderr}`));
        });
      });
    },
  };
}
