import { KosmoError } from '../errors.js';

export type OutboxErrorCode =
  | 'outbox_invalid_job'
  | 'outbox_closed'
  | 'outbox_unknown_job'
  | 'outbox_invalid_option'
  | 'outbox_not_retryable'
  | 'outbox_storage'
  | 'outbox_damaged';

/** A misuse of the outbox (bad job, bad option, use after close). Delivery failures are stored, not thrown. */
export class OutboxError extends KosmoError {
  declare readonly code: OutboxErrorCode;

  constructor(code: OutboxErrorCode, message: string) {
    super(code, message);
  }
}

const sqliteCode = (error: unknown): string =>
  typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';

/** Another connection holds the write lock past the busy timeout: worth trying again shortly. */
export const isBusy = (error: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(sqliteCode(error));

const isDamage = (error: unknown): boolean => /^SQLITE_(CORRUPT|NOTADB)/.test(sqliteCode(error));

/**
 * A storage failure as the operator should read it: what happened to which file, that nothing acknowledged was
 * lost, and what to do. `doing` says what could not be done, e.g. "store the write".
 */
export function storageError(file: string, doing: string, error: unknown): OutboxError {
  const code = sqliteCode(error);
  const detail = `${code || 'error'}: ${(error as Error)?.message ?? String(error)}`;
  if (isDamage(error)) {
    return new OutboxError(
      'outbox_damaged',
      `Outbox ${file} is damaged (${detail}); could not ${doing}. Move the file aside (keep it for recovery) and start with a new one.`,
    );
  }
  const cause = /^SQLITE_FULL/.test(code) ? 'the disk is full' : 'the file could not be read or written';
  return new OutboxError(
    'outbox_storage',
    `Outbox ${file}: could not ${doing}, ${cause} (${detail}). Writes acknowledged before are safe; fix the storage and drain again.`,
  );
}
