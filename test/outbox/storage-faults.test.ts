import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Outbox } from '../../src/outbox/index.js';
import { manualClock, until } from '../support/clock.js';
import { job, spawnFixture, TEST_DESTINATION, tempDb, tempDir } from './helpers.js';

const ok = async () => 'ok';
const payload = (i: number) => ({ i, text: 'x'.repeat(1000) });

test('a damaged file is refused on open: nothing is queued into it, the message says what to do', async () => {
  const file = tempDb();
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok });
  for (let i = 0; i < 300; i++) await outbox.enqueue(job(`u${i % 7}`, payload(i)));
  await outbox.close();
  // Random bytes over two pages in the middle of the file (the WAL was checkpointed into it on close).
  const fd = fs.openSync(file, 'r+');
  const pageSize = 4096;
  const pages = Math.floor(fs.statSync(file).size / pageSize);
  for (const page of [Math.floor(pages / 2), Math.floor(pages / 2) + 1]) {
    fs.writeSync(
      fd,
      Buffer.from(Array.from({ length: pageSize }, (_, i) => (i * 131 + page) % 251)),
      0,
      pageSize,
      page * pageSize,
    );
  }
  fs.closeSync(fd);

  assert.throws(() => new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok }), {
    code: 'outbox_damaged',
    message: new RegExp(`^Outbox ${file.replaceAll('.', '\\.')} is damaged .*Move the file aside`),
  });
});

test('holders in another pid namespace (containers sharing a volume) keep their rows until the lease ends', {
  timeout: 120_000,
}, async () => {
  const file = tempDb();
  const setup = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok });
  const a = await setup.enqueue(job('u1', { n: 1 }));
  const b = await setup.enqueue(job('u2', { n: 2 }));
  await setup.close();
  const child = spawnFixture('hang-worker.ts', [file]);
  await child.waitForLine((line) => line === `claimed ${b.id}`);
  child.proc.kill('SIGKILL');
  await child.exited;
  // The same rows as if a drainer with the same host name but another pid namespace held them: its pid means
  // nothing here, so it must not be taken for dead.
  const db = new Database(file);
  db.prepare(
    `UPDATE outbox_jobs SET locked_host = locked_host || ' pid:[4026599999]' WHERE state = 'sending'`,
  ).run();
  const lockedUntil = (db.prepare('SELECT MAX(locked_until) AS t FROM outbox_jobs').get() as { t: number }).t;
  db.close();

  const clock = manualClock(new Date(lockedUntil - 10_000).toISOString());
  const delivered: number[] = [];
  const outbox = new Outbox({
    destinations: [TEST_DESTINATION],
    path: file,
    now: () => clock.now().getTime(),
    pollIntervalMs: 5,
    deliver: async (j) => {
      delivered.push(j.id);
    },
  });
  // A write of another user is the gate: once it is delivered, a claim (which first frees orphaned rows) has run.
  const gate = await outbox.enqueue(job('u3', { n: 3 }));
  outbox.start();
  await until(() => delivered.includes(gate.id), 'the gate write delivered');
  assert.deepEqual(delivered, [gate.id], 'the held rows are not taken while their lease runs');
  clock.advance(10_001);
  await until(() => delivered.length === 3, 'the held rows delivered once the lease ended');
  assert.deepEqual(
    delivered.slice(1).sort((x, y) => x - y),
    [a.id, b.id].sort((x, y) => x - y),
  );
  await outbox.close();
});

test('purge gives the space back: the file shrinks to near empty, the WAL is truncated', async () => {
  const file = tempDb();
  const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver: ok, concurrency: 16 });
  for (let i = 0; i < 3000; i++) await outbox.enqueue(job(`u${i % 50}`, payload(i)));
  await outbox.drain();
  const before = fs.statSync(file).size + fs.statSync(`${file}-wal`).size;
  assert.equal(await outbox.purge({ delivered: true }), 3000);
  const after = fs.statSync(file).size + fs.statSync(`${file}-wal`).size;
  assert.ok(before > 3_000_000, `before purge: ${before} bytes`);
  assert.ok(after < 200_000, `after purge: ${after} bytes (before: ${before})`);
  await outbox.close();
});

/** A tiny tmpfs to fill up; null (test skipped, saying why) where this machine does not let us mount one. */
function smallDisk(): string | null {
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    return null;
  }
}

test('a full disk is reported at once: enqueue refuses (never acknowledges), drain fails instead of hanging', async (t) => {
  const disk = smallDisk();
  if (!disk) {
    t.skip('mounting a 2 MiB tmpfs needs root (CI and this project’s machines have it)');
    return;
  }
  try {
    const file = path.join(disk, 'outbox.db');
    const delivered = new Set<number>();
    const deliver = async (j: { id: number }) => {
      delivered.add(j.id);
    };
    const outbox = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver });
    const acknowledged: number[] = [];
    let refused: unknown;
    for (let i = 0; i < 5000 && refused === undefined; i++) {
      try {
        acknowledged.push((await outbox.enqueue(job(`u${i % 7}`, payload(i)))).id);
      } catch (error) {
        refused = error;
      }
    }
    assert.ok(refused, 'the disk filled up');
    assert.equal((refused as { code: string }).code, 'outbox_storage');
    assert.match(
      (refused as Error).message,
      /could not store the write \(it was not queued\), the disk is full/,
    );

    // Every acknowledged write is there; delivering them needs room to record outcomes, so the drain fails loudly.
    await assert.rejects(outbox.drain(), { code: 'outbox_storage', message: /disk is full/ });
    await outbox.close().catch(() => undefined);

    // With room again, a new drainer delivers every acknowledged write, none lost.
    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    const again = new Outbox({ destinations: [TEST_DESTINATION], path: file, deliver });
    await again.drain();
    assert.deepEqual(
      [...delivered].sort((x, y) => x - y),
      acknowledged,
    );
    assert.equal((await again.status()).counts.pending, 0);
    assert.equal((await again.status()).counts.delivered, acknowledged.length);
    await again.close();
  } finally {
    execFileSync('umount', ['-l', disk]);
  }
});
