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
  OutboxErrorEntry,
  OutboxJob,
  OutboxJobInput,
  OutboxOptions,
  OutboxState,
  OutboxStatus,
  PurgeFilter,
} from './types.js';
