import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { headWorkload } from './head-workload.js';
import { tempDb } from './helpers.js';

test('the stored head flag always matches the key rows, through failures, dead jobs, retries, discards and moves', async () => {
  const file = tempDb();
  let reader: Database.Database | undefined;
  // Every job holding key rows: its flag is 1 exactly when an earlier job of its destination holds a row of one
  // of its keys.
  const { mismatches, failures } = await headWorkload(file, async () => {
    reader ??= new Database(file, { readonly: true });
    return reader
      .prepare(
        `SELECT j.id, j.state, j.blocked FROM outbox_jobs j
          WHERE j.state IN ('pending', 'sending', 'dead')
            AND j.blocked <> EXISTS (
              SELECT 1 FROM json_each(j.ordering_keys) jk JOIN outbox_job_keys o
                ON o.destination_id = j.destination_id AND o.key = jk.value AND o.job_id < j.id)`,
      )
      .all();
  });
  reader?.close();
  assert.deepEqual(mismatches, []);
  assert.ok(failures > 10, `failures happened (${failures})`);
});
