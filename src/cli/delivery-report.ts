import type { JobOutcome, JobTally } from '../outbox/index.js';
import type { CallRecord } from '../runtime/call-log.js';
import { plural } from './output.js';

type NotDeliveredError = { code: 'not_delivered'; message: string };

/**
 * Why queued writes a command waited for were not delivered, with each one's last error and where to look next; null
 * when every one was delivered.
 */
export function notDeliveredError(outcomes: JobOutcome[], calls: CallRecord[]): NotDeliveredError | null {
  const failed = outcomes.filter((outcome) => outcome.state !== 'delivered');
  const nameOf = (id: number) => calls.find((call) => call.outbox_id === id)?.function_name ?? 'write';
  return describeNotDelivered(failed, failed.length, nameOf);
}

/** The same for an import's writes, counted: the first few not delivered are named, the rest counted. */
export function notDeliveredTallyError(tally: JobTally, functionName: string): NotDeliveredError | null {
  return describeNotDelivered(tally.notDelivered, tally.total - tally.delivered, () => functionName);
}

function describeNotDelivered(
  listed: JobOutcome[],
  count: number,
  nameOf: (id: number) => string,
): NotDeliveredError | null {
  if (count === 0) return null;
  const described = listed.map((outcome) => {
    // The last error is a sentence of its own; its full stop would double the one that ends the list.
    const error = outcome.error ? `: ${outcome.error.replace(/\.$/, '')}` : '';
    const why =
      outcome.heldBy !== undefined
        ? ` (held behind dead write #${outcome.heldBy} of the same user)`
        : outcome.pausedUntil !== undefined
          ? ` (its account is paused until ${new Date(outcome.pausedUntil).toISOString()})`
          : '';
    return `#${outcome.id} ${nameOf(outcome.id)} ${outcome.state}${why}${error}`;
  });
  if (count > listed.length) described.push(`and ${count - listed.length} more`);
  return {
    code: 'not_delivered',
    message: `${plural(count, 'queued write')} not delivered: ${described.join('; ')}. See \`kosmo-vero outbox status\`; \`kosmo-vero outbox retry --dead\` sends dead ones again (\`outbox discard\` gives up on them).`,
  };
}
