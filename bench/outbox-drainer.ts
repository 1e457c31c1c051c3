// A drainer process for bench/outbox-postgres.ts: opens the outbox at <outbox> with the default account (the
// emulator at <baseUrl>, token <token>), prints `ready`, drains when a line arrives on stdin, prints
// `done <json>` and exits. Starting up is not part of what the benchmark times.
// Usage: node --import tsx bench/outbox-drainer.ts <outbox> <baseUrl> <token>
import { createInterface } from 'node:readline';
import { createRuntime } from '../src/index.js';

const [outbox, baseUrl, token] = process.argv.slice(2);
if (!outbox || !baseUrl || !token) throw new Error('usage: outbox-drainer.ts <outbox> <baseUrl> <token>');

const runtime = createRuntime({ env: { VERO_AUTH_TOKEN: token, VERO_BASE_URL: baseUrl }, outbox });
await runtime.outbox().status();
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once('line', resolve));
const result = await runtime.outbox().drain();
process.stdout.write(`done ${JSON.stringify(result)}\n`);
lines.close();
await runtime.close();
