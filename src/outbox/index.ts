export { defaultOutboxPath } from './default-path.js';
export { OutboxError, type OutboxErrorCode } from './errors.js';
export { Outbox } from './outbox.js';
export type {
  Destination,
  DestinationInput,
  DestinationStatus,
  DrainOptions,
  DrainProgress,
  HeldJob,
  JobOutcome,
  JobTally,
  OutboxErrorEntry,
  OutboxJob,
  OutboxJobInput,
  OutboxOptions,
  OutboxState,
  OutboxStatus,
  PurgeFilter,
  WaitOptions,
} from './types.js';
