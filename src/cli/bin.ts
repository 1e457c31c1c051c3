#!/usr/bin/env node
// The `kosmo-vero` binary: main() with this process's arguments, environment and stdio.
import { main } from './main.js';

// `kosmo-vero ... | head -1`: once the reader is gone there is nobody to tell, so end quietly instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

let stop: AbortController | undefined;

process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  // SIGINT/SIGTERM are caught only once a command asks for this signal (one that serves until stopped): any other
  // command still ends on Ctrl-C the way a process does by default.
  get signal() {
    if (!stop) {
      const controller = new AbortController();
      for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => controller.abort(name));
      stop = controller;
    }
    return stop.signal;
  },
});
