import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { Outbox } from '../../src/outbox/index.js';
import { until } from '../support/clock.js';
import { POSTGRES_URL, postgresUnavailable, tempSchema } from '../support/postgres.js';
import { headWorkload } from './head-workload.js';
import { job, TEST_DESTINATION } from './helpers.js';

/* What only the PostgreSQL engine does: its URL, migrations, notifications and stored head counts. */

const ok = async () => 'ok';

test('an unreachable server fails enqueue and drain at once, naming the URL with its password masked', async () => {
  const url = 'postgres://kv:s3cret-pass@127.0.0.1:1/test?schema=kv_nowhere';
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: url, deliver: ok });
  const refused = {
    code: 'outbox_storage',
    message: /postgres:\/\/kv:\*\*\*@127\.0\.0\.1:1\/test.*could not be reached/,
  };
  await assert.rejects(outbox.enqueue(job('u1', {})), refused);
  await assert.rejects(outbox.drain(), refused);
  await assert.rejects(outbox.status(), (error: Error) => !error.message.includes('s3cret-pass'));
  await outbox.close();
});

test('a schema that is not a plain identifier is refused before connecting', () => {
  assert.throws(() => new Outbox({ path: `${POSTGRES_URL}?schema=Robert%27);DROP`, deliver: ok }), {
    code: 'outbox_invalid_option',
    message: /schema .* must be a lower-case identifier/,
  });
});

const skip = await postgresUnavailable();

describe('PostgreSQL engine', { skip }, () => {
  const schemas: Array<{ drop(): Promise<void> }> = [];
  const fresh = () => {
    const schema = tempSchema();
    schemas.push(schema);
    return schema;
  };
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  const sql = async (text: string, params: unknown[] = []) => (await admin.query(text, params)).rows;
  after(async () => {
    await Promise.all(schemas.map((schema) => schema.drop()));
    await admin.end();
  });

  test('five outboxes opening a new schema at once: one migrates, all queue, ids are unique', async () => {
    const { url, schema } = fresh();
    const outboxes = Array.from({ length: 5 }, () => new Outbox({ path: url, deliver: ok }));
    const queued = await Promise.all(outboxes.map((o, i) => o.enqueue(job(`u${i}`, { i }))));
    assert.equal(new Set(queued.map((q) => q.id)).size, 5);
    assert.deepEqual(await sql(`SELECT version FROM "${schema}".outbox_schema_version`), [{ version: 1 }]);
    assert.equal((await sql(`SELECT count(*)::int AS n FROM "${schema}".outbox_meta`))[0]?.n, 1);
    await Promise.all(outboxes.map((o) => o.close()));
  });

  test('a schema written by a newer kosmo-vero is refused, and nothing is queued into it', async () => {
    const { url, schema } = fresh();
    const first = new Outbox({ path: url, deliver: ok });
    await first.status();
    await first.close();
    await sql(`UPDATE "${schema}".outbox_schema_version SET version = 99`);
    const newer = new Outbox({ path: url, deliver: ok });
    await assert.rejects(newer.enqueue(job('u1', {})), {
      code: 'outbox_invalid_option',
      message: /written by a newer kosmo-vero \(version 99\)/,
    });
    await newer.close();
    assert.deepEqual(await sql(`SELECT id FROM "${schema}".outbox_jobs`), []);
  });

  test('NOTIFY wakes a drainer and a waiter in other processes at once: no poll needed', async () => {
    const { url, schema } = fresh();
    // Polls an hour apart: only a notification can make this test finish.
    const hour = 3_600_000;
    const drainer = new Outbox({
      destinations: [TEST_DESTINATION],
      path: url,
      pollIntervalMs: hour,
      deliver: ok,
    });
    const producer = new Outbox({ path: url, pollIntervalMs: hour, deliver: ok });
    await drainer.status();
    await producer.status();
    drainer.start();
    // Both listen (as pg_stat_activity shows) before anything is queued.
    await until(async () => {
      const rows = await sql(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`,
        [`kosmo-vero outbox listener ${schema}`],
      );
      return rows[0]?.n === 2;
    }, 'both outboxes listening');
    const { id } = await producer.enqueue(job('u1', {}));
    assert.deepEqual(await producer.waitFor([id]), [{ id, state: 'delivered', result: 'ok' }]);
    await drainer.close();
    await producer.close();
  });

  test('the stored blockers count always matches the key rows, through failures, retries, discards and moves', async () => {
    const { url, schema } = fresh();
    const { mismatches, failures } = await headWorkload(url, () =>
      sql(
        `SELECT j.id, j.state, j.blockers FROM "${schema}".outbox_jobs j
          WHERE j.state IN ('pending', 'sending', 'dead')
            AND j.blockers <> (SELECT count(*) FROM unnest(j.ordering_keys) AS k
                                WHERE EXISTS (SELECT 1 FROM "${schema}".outbox_job_keys o
                                               WHERE o.destination_id = j.destination_id AND o.key = k
                                                 AND o.job_id < j.id))`,
      ),
    );
    assert.deepEqual(mismatches, []);
    assert.ok(failures > 10, `failures happened (${failures})`);
  });
});
