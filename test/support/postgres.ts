import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL server the tests use: KOSMO_VERO_TEST_POSTGRES, or this project's machines' server (127.0.0.1,
 * user postgres, trust auth, database `test`; .ci/run starts it). Each test works in a schema of its own.
 */
export const POSTGRES_URL = process.env.KOSMO_VERO_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Why the PostgreSQL tests cannot run here, or undefined when they can. Under CI they must run: a missing
 * server is then a failure, not a skip.
 */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    const reason = `PostgreSQL is not reachable at ${POSTGRES_URL} (${(error as Error).message}); start it (see .ci/run) or set KOSMO_VERO_TEST_POSTGRES`;
    if (process.env.CI) throw new Error(`${reason}. CI must run the PostgreSQL tests.`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

/** An outbox URL in a fresh schema (created by the outbox on first use); `drop()` removes it and all in it. */
export function tempSchema(): { url: string; schema: string; drop(): Promise<void> } {
  const schema = `kv_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
