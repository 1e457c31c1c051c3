import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  VERO_OPERATIONS,
  type VeroClient,
  VeroValidationError,
  type VeroWriteOperation,
} from '../../src/clients/vero/index.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { clientFor, rejection, startCanaryEmulator } from './support.js';

let emu: RunningEmulator;

before(async () => {
  emu = await startCanaryEmulator();
});
after(async () => {
  await emu.close();
});

interface BadInput {
  op: VeroWriteOperation;
  input: unknown;
  field: string | undefined;
  message: string;
}

const long = (n: number) => 'x'.repeat(n);

const BAD_INPUTS: BadInput[] = [
  {
    op: 'identify',
    input: null,
    field: undefined,
    message: 'identify: expected an object of arguments, got null',
  },
  {
    op: 'identify',
    input: {},
    field: 'id',
    message: 'identify: id: give an id or an email (at least one is required)',
  },
  {
    op: 'identify',
    input: { email: 'bob@' },
    field: 'email',
    message: 'identify: email: invalid email address "bob@"',
  },
  {
    op: 'identify',
    input: { id: 'u1', email: 'bob smith@example.com' },
    field: 'email',
    message: 'identify: email: invalid email address "bob smith@example.com"',
  },
  {
    op: 'identify',
    input: { email: 'bob@example' },
    field: 'email',
    message: 'identify: email: invalid email address "bob@example"',
  },
  {
    op: 'identify',
    input: { email: '@example.com' },
    field: 'email',
    message: 'identify: email: invalid email address "@example.com"',
  },
  {
    op: 'identify',
    input: { email: 'a@b@example.com' },
    field: 'email',
    message: 'identify: email: invalid email address "a@b@example.com"',
  },
  {
    op: 'identify',
    input: { email: `${long(250)}@x.io` },
    field: 'email',
    message: 'identify: email: must be under 255 characters (got 255)',
  },
  { op: 'identify', input: { id: '' }, field: 'id', message: 'identify: id: must not be empty' },
  { op: 'identify', input: { id: 42 }, field: 'id', message: 'identify: id: must be a string, got number' },
  {
    op: 'identify',
    input: { id: long(255) },
    field: 'id',
    message: 'identify: id: must be under 255 characters (got 255)',
  },
  {
    op: 'identify',
    input: { id: 'u1', data: [1] },
    field: 'data',
    message: 'identify: data: must be an object of attributes, got array',
  },
  { op: 'editUser', input: { changes: { plan: 'pro' } }, field: 'id', message: 'editUser: id: is required' },
  { op: 'editUser', input: { id: 'u1' }, field: 'changes', message: 'editUser: changes: is required' },
  {
    op: 'editUser',
    input: { id: 'u1', changes: {} },
    field: 'changes',
    message: 'editUser: changes: must have at least one attribute to change',
  },
  {
    op: 'editUser',
    input: { id: 'u1', changes: { email: 'nope' } },
    field: 'changes.email',
    message: 'editUser: changes.email: invalid email address "nope"',
  },
  {
    op: 'editTags',
    input: { id: 'u1' },
    field: 'add',
    message: 'editTags: add: give at least one tag to add or remove',
  },
  {
    op: 'editTags',
    input: { id: 'u1', add: [], remove: [] },
    field: 'add',
    message: 'editTags: add: give at least one tag to add or remove',
  },
  {
    op: 'editTags',
    input: { id: 'u1', add: 'vip' },
    field: 'add',
    message: 'editTags: add: must be an array of tag names, got string',
  },
  {
    op: 'editTags',
    input: { id: 'u1', remove: ['ok', ''] },
    field: 'remove[1]',
    message: 'editTags: remove[1]: must be a non-empty string, got ""',
  },
  { op: 'editTags', input: { add: ['vip'] }, field: 'id', message: 'editTags: id: is required' },
  { op: 'unsubscribe', input: {}, field: 'id', message: 'unsubscribe: id: is required' },
  { op: 'resubscribe', input: { id: '   ' }, field: 'id', message: 'resubscribe: id: must not be empty' },
  { op: 'deleteUser', input: { id: null }, field: 'id', message: 'deleteUser: id: is required' },
  { op: 'reidentify', input: { id: 'a' }, field: 'newId', message: 'reidentify: newId: is required' },
  {
    op: 'reidentify',
    input: { id: 'a', newId: 'a' },
    field: 'newId',
    message: 'reidentify: newId: must differ from id',
  },
  {
    op: 'trackEvent',
    input: { eventName: 'paid' },
    field: 'identity',
    message: 'trackEvent: identity: is required (an object with id and/or email)',
  },
  {
    op: 'trackEvent',
    input: { identity: 'bob', eventName: 'paid' },
    field: 'identity',
    message: 'trackEvent: identity: must be an object with id and/or email, got string',
  },
  {
    op: 'trackEvent',
    input: { identity: {}, eventName: 'paid' },
    field: 'identity',
    message: 'trackEvent: identity: give an id or an email (at least one is required)',
  },
  {
    op: 'trackEvent',
    input: { identity: { email: 'bob@' }, eventName: 'paid' },
    field: 'identity.email',
    message: 'trackEvent: identity.email: invalid email address "bob@"',
  },
  {
    op: 'trackEvent',
    input: { identity: { id: long(300) }, eventName: 'paid' },
    field: 'identity.id',
    message: 'trackEvent: identity.id: must be under 255 characters (got 300)',
  },
  {
    op: 'trackEvent',
    input: { identity: { id: 'u1' } },
    field: 'eventName',
    message: 'trackEvent: eventName: is required',
  },
  {
    op: 'trackEvent',
    input: { identity: { id: 'u1' }, eventName: long(255) },
    field: 'eventName',
    message: 'trackEvent: eventName: must be under 255 characters (got 255)',
  },
  {
    op: 'trackEvent',
    input: { identity: { id: 'u1' }, eventName: 'paid', extras: { createdAt: 'yesterday' } },
    field: 'extras.createdAt',
    message: 'trackEvent: extras.createdAt: must be an ISO 8601 date string, got "yesterday"',
  },
  {
    op: 'trackEvent',
    input: { identity: { id: 'u1' }, eventName: 'paid', extras: { source: 7 } },
    field: 'extras.source',
    message: 'trackEvent: extras.source: must be a string, got number',
  },
];

function call(vero: VeroClient, op: VeroWriteOperation, input: unknown): Promise<unknown> {
  return (vero[op] as (input: unknown) => Promise<unknown>).call(vero, input);
}

describe('local validation', () => {
  it('rejects each bad input with its field and message, and sends nothing', async () => {
    const vero = clientFor(emu);
    for (const bad of BAD_INPUTS) {
      const label = `${bad.op} ${JSON.stringify(bad.input)?.slice(0, 60)}`;
      const err = await rejection(call(vero, bad.op, bad.input));
      assert.ok(err instanceof VeroValidationError, label);
      assert.equal(err.code, 'vero_validation', label);
      assert.equal(err.message, bad.message, label);
      assert.equal(err.field, bad.field, label);
      assert.equal(err.endpoint, VERO_OPERATIONS[bad.op].path, label);
      assert.equal(err.status, undefined, label);
      // prepare (dry run) runs the very same validation.
      assert.throws(
        () => vero.prepare(bad.op, bad.input as never),
        (thrown: unknown) => thrown instanceof VeroValidationError && thrown.message === bad.message,
        label,
      );
    }
    assert.deepEqual(emu.state().requests, []);
  });

  it('accepts the limits themselves', async () => {
    const vero = clientFor(emu);
    emu.reset();
    const id = long(254);
    assert.equal((await vero.identify({ id, email: 'a.b+c@sub.example.co.uk' })).status, 200);
    assert.equal((await vero.trackEvent({ identity: { id }, eventName: long(254) })).status, 200);
    assert.equal((await vero.editTags({ id, remove: ['gone'] })).status, 200);
    assert.equal(emu.state().requests.length, 3);
  });
});
