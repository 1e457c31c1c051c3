import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdSet } from '../../src/outbox/id-set.js';

test('IdSet: distinct ids, settled one by one or all but some, open bounds closing in, ranges of all', () => {
  const ids = new IdSet([7, 3, 4, 5, 9, 3, 10, 11]);
  assert.deepEqual([ids.total, ids.size], [7, 7]);
  assert.deepEqual(ids.ranges(), [
    [3, 5],
    [7, 7],
    [9, 11],
  ]);
  assert.deepEqual(ids.openBounds(), { min: 3, max: 11 });
  assert.equal(ids.settle(3), true);
  assert.equal(ids.settle(3), false, 'settled already');
  assert.equal(ids.settle(6), false, 'not one of them');
  assert.equal(ids.isOpen(3), false);
  assert.equal(ids.isOpen(4), true);
  assert.deepEqual(ids.openBounds(), { min: 4, max: 11 });
  // Ids the store reports open that are not waited for (another producer's) change nothing.
  assert.equal(ids.settleAllBut([6, 9, 5, 12]), 4, '4, 7, 10 and 11 are no longer open');
  assert.deepEqual([ids.size, ids.openBounds()], [2, { min: 5, max: 9 }]);
  assert.equal(ids.settleAllBut([]), 2);
  assert.deepEqual([ids.size, ids.openBounds()], [0, undefined]);
  assert.equal(ids.ranges().length, 3, 'ranges cover every id, settled or not');
  assert.deepEqual(new IdSet([]).ranges(), []);
});

test('IdSet: settling all but some within a range of ids leaves the ids outside it open', () => {
  const ids = new IdSet([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(ids.settleAllBut([3], 2, 5), 3, '2, 4 and 5');
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((id) => ids.isOpen(id)),
    [true, false, true, false, false, true],
  );
  assert.equal(ids.settleAllBut([], 6, 100), 3, '6, 7 and 8');
  assert.deepEqual([ids.size, ids.openBounds()], [2, { min: 1, max: 3 }]);
  assert.equal(ids.settleAllBut([], 0, 0), 0, 'no id in the range');
});
