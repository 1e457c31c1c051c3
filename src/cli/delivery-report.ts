import type { JobOutcome } from '../outbox/index.js';
import type { CallRecord } from '../runtime/call-log.js';
import { plural } from './output.js';

/**
 * Why queued writes a command waited for were not delivered, with each one's last error and where to look next; null
 * when every one was delivered.
 */
export function notDeliveredError(
  outcomes: JobOutcome[],
  calls: CallRecord[],
): { code: 'not_delivered'; message: string } | null {
  const failed = outcomes
    .filter((outcome) => outcome.state !== 'delivered')
    .map((outcome) => {
      const name = calls.find((call) => call.outbox_id === outcome.id)?.function_name ?? 'write';
      // The last error is a sentence of its own; its full stop would double the one that ends the list.
      const error = outcome.error ? `: ${outcome.error.replace(/\.$/, '')}` : '';
      const why =
        outcome.heldBy !== undefined
          ? ` (held behind dead write #${outcome.heldBy} of the same user)`
          : outcome.pausedUntil !== undefined
            ? ` (its account is paused until ${new Date(outcome.pausedUntil).toISOString()})`
            : '';
      return `#${outcome.id} ${name} ${outcome.state}${why}${error}`;
    });
  if (failed.length === 0) return null;
  return {
    code: 'not_delivered',
    message: `${plural(failed.length, 'queued write')} not delivered: ${failed.join('; ')}. See \`kosmo-vero outbox status\`; \`kosmo-vero outbox retry --dead\` sends dead ones again (\`outbox discard\` gives up on them).`,
  };
}
