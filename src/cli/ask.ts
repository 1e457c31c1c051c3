import { createInterface } from 'node:readline/promises';
import { PermissionDeniedError } from '../runtime/errors.js';
import type { AskCallback, PermissionRequest } from '../runtime/permissions.js';
import type { CliIo } from './io.js';

const allowHow = (request: PermissionRequest): string =>
  `set permissions.${request.integration}.${request.operation} to "allow" in the --config file`;

// One question at a time: a script's calls are sequential, but a library caller's may not be.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Decides a permission of `ask` on the command line: on a terminal it shows the call and asks y/N on stderr;
 * without one (a pipe, CI) it refuses with how to allow such calls without asking.
 */
export const askOnTerminal =
  ({ stdin, stderr }: CliIo): AskCallback =>
  (request) => {
    if (!stdin.isTTY || !stderr.isTTY) {
      throw new PermissionDeniedError(
        `${request.fullName}: needs approval (${request.integration} ${request.operation}: ask) and there is no terminal to ask on; run it from a terminal to answer, or ${allowHow(request)}.`,
      );
    }
    const answer = queue.then(async () => {
      const prompt = createInterface({ input: stdin, output: stderr });
      try {
        const reply = await prompt.question(
          `${request.fullName} (account "${request.account}") with ${JSON.stringify(request.args)}\nallow this ${request.operation}? [y/N] `,
        );
        return /^y(es)?$/i.test(reply.trim());
      } finally {
        prompt.close();
      }
    });
    queue = answer.catch(() => undefined);
    return answer;
  };
