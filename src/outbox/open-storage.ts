import { isPostgresUrl } from './postgres/location.js';
import { PostgresStorage } from './postgres/storage.js';
import { SqliteStorage } from './sqlite/storage.js';
import type { OutboxStorage } from './storage.js';

/**
 * The engine for an outbox location: a `postgres://` (or `postgresql://`) URL is PostgreSQL, anything else an
 * SQLite file (or `:memory:`). SQLite opens and checks the file now; PostgreSQL connects on first use.
 */
export function openStorage(
  location: string,
  options: { synchronous: 'normal' | 'full'; concurrency: number },
): OutboxStorage {
  if (isPostgresUrl(location)) {
    // Each delivery in flight records its outcome on a connection; one more for claims and one for the rest.
    return new PostgresStorage(location, options.concurrency + 2);
  }
  return new SqliteStorage(location, options.synchronous);
}
