import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { type Finished, type LaunchOptions, launch, runToEnd } from '../support/process.js';

/** The built binary: the smoke tests run what people install (`npm test` builds first). */
export const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

// A home of its own, so no user config, outbox or data dir leaks into (or out of) a test run.
const HOME = mkdtempSync(join(tmpdir(), 'kosmo-vero-cli-'));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Written to stdin, which is then closed; stdin is closed empty when absent. */
  input?: string;
}

/** Only PATH and an isolated HOME (and data/config dirs), plus `env`: no user config, outbox or data leaks in. */
export const isolatedEnv = (env: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME,
  XDG_DATA_HOME: HOME,
  XDG_CONFIG_HOME: HOME,
  ...env,
});

/** A stream that keeps what is written to it. */
function collector(): Writable & { text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(stream, { text: () => text });
}

export interface InProcessOptions extends CliOptions {
  /** Stops a command that serves until stopped (emulator, mcp, run --keep). */
  signal?: AbortSignal;
}

const inProcessEnv = (env: Record<string, string> = {}) =>
  isolatedEnv({ KOSMO_VERO_OUTBOX: join(HOME, 'kosmo-vero', 'outbox.db'), ...env });

/**
 * `kosmo-vero ...args` in this process, through main(argv, io), with `isolatedEnv(env)`. The default outbox of a
 * process is in its user data directory, which env-paths takes from this process's environment, not `env`: so the
 * outbox is named outright, where the binary would put it under the isolated HOME.
 */
export async function cli(args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, {
    stdout,
    stderr,
    stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    env: inProcessEnv(options.env),
    signal: options.signal,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

export interface Serving {
  /** Open: what the test writes reaches the command's stdin. */
  stdin: PassThrough;
  /** The first `count` lines of stdout, once written. */
  firstLines(count: number): Promise<string[]>;
  stderr(): string;
  /** Aborts io.signal and resolves to the exit code. */
  stop(): Promise<number>;
}

/** A command that serves until stopped (emulator, mcp, run --keep), in-process. */
export function serve(args: string[], options: CliOptions = {}): Serving {
  const stdout = new PassThrough({ encoding: 'utf8' });
  const stderr = collector();
  const stdin = new PassThrough();
  const stop = new AbortController();
  const exit = main(args, { stdout, stderr, stdin, env: inProcessEnv(options.env), signal: stop.signal });
  let text = '';
  const iterator = stdout[Symbol.asyncIterator]();
  return {
    stdin,
    stderr: () => stderr.text(),
    async firstLines(count) {
      while (lines(text).length < count) {
        const next = await Promise.race([iterator.next(), exit.then(() => ({ done: true, value: '' }))]);
        if (next.done) throw new Error(`kosmo-vero ${args.join(' ')} ended first: ${stderr.text()}`);
        text += next.value;
      }
      return lines(text).slice(0, count);
    },
    stop() {
      stop.abort();
      return exit;
    },
  };
}

const launchOptions = (options: CliOptions): LaunchOptions => ({
  env: isolatedEnv(options.env),
  input: options.input,
});

/** Runs `node dist/cli/bin.js ...args` to completion with only PATH, HOME and `env` in its environment. */
export const runCli = (args: string[], options: CliOptions = {}): Promise<Finished> =>
  runToEnd(process.execPath, [BIN, ...args], launchOptions(options));

/** Starts `node dist/cli/bin.js ...args` (a command that serves until stopped), stdin left open. */
export const launchCli = (args: string[], options: CliOptions = {}) =>
  launch(process.execPath, [BIN, ...args], { ...launchOptions(options), keepStdin: true });

/** stderr split into its non-empty lines. */
export const lines = (text: string): string[] => text.split('\n').filter((line) => line.length > 0);
