import { OutboxError } from '../errors.js';

const sqlState = (error: unknown): string =>
  typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';

/** Deadlock, serialization failure, lock not available: another transaction won; running again is right. */
export const isTransientPostgresError = (error: unknown): boolean =>
  ['40001', '40P01', '55P03'].includes(sqlState(error));

/** SQLSTATE class 08 (connection exception) and the network errors of a server that is down or unreachable. */
const isUnreachable = (error: unknown): boolean =>
  sqlState(error).startsWith('08') ||
  ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE'].includes(
    sqlState(error),
  ) ||
  /Connection terminated|connect ECONNREFUSED/.test((error as Error)?.message ?? '');

/**
 * A PostgreSQL failure as the operator should read it: what could not be done, on which database (the label has
 * its password masked), that acknowledged writes are safe, and what to do.
 */
export function postgresFailure(label: string, doing: string, error: unknown): OutboxError {
  if (error instanceof OutboxError) return error;
  const code = sqlState(error);
  const detail = `${code || 'error'}: ${(error as Error)?.message ?? String(error)}`;
  let cause = 'the database refused it';
  if (isUnreachable(error)) cause = 'the PostgreSQL server could not be reached';
  else if (code === '53100') cause = 'the database server is out of disk space';
  else if (code === '28P01' || code === '28000') cause = 'the server refused the login';
  return new OutboxError(
    'outbox_storage',
    `Outbox ${label}: could not ${doing}, ${cause} (${detail}). Writes acknowledged before are safe; fix the database and drain again.`,
  );
}
