/** Turns a request's parameters into an operation, or a 400 message naming the field and the rule. */
import { isPlainObject, type Params } from './body.js';
import type { Endpoint } from './endpoints.js';

export const MAX_LENGTH = 255;

export interface UserRef {
  id?: string;
  email?: string;
}

/**
 * The profile id a request addresses: its id, or (named only by email) the email itself. Vero's default identity
 * rule (operations.ts): a profile is found by id only.
 */
export function profileIdOf(ref: UserRef): string {
  return ref.id ?? (ref.email as string);
}

export type Operation =
  | { kind: 'identify'; ref: UserRef; data: Params }
  | { kind: 'edit'; ref: UserRef; changes: Params }
  | { kind: 'tags'; ref: UserRef; add: string[]; remove: string[] }
  | { kind: 'unsubscribe'; ref: UserRef }
  | { kind: 'resubscribe'; ref: UserRef }
  | { kind: 'reidentify'; id: string; newId: string }
  | { kind: 'delete'; ref: UserRef }
  | { kind: 'event'; identity: UserRef; eventName: string; data: Params; extras: Params }
  | { kind: 'heartbeat' };

export type Validated = { ok: true; op: Operation } | { ok: false; message: string };

class Invalid extends Error {}

export function validate(endpoint: Endpoint, p: Params): Validated {
  try {
    return { ok: true, op: toOperation(endpoint, p) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, message: error.message };
    throw error;
  }
}

function toOperation(endpoint: Endpoint, p: Params): Operation {
  switch (endpoint) {
    case '/users/track': {
      const ref = userRef(p, 'id', 'email', 'identify needs id or email (at least one).');
      const data = { ...optionalObject(p.data, 'data') };
      if (typeof p.phone_number === 'string' || typeof p.phone_number === 'number') {
        data.phone_number = String(p.phone_number);
      }
      if (Array.isArray(p.channels) && p.channels.length > 0) data.channels = p.channels;
      return { kind: 'identify', ref, data };
    }
    case '/users/edit': {
      const ref = userRef(p, 'id', 'email', 'edit needs the user id (or email).');
      const changes = optionalObject(p.changes, 'changes');
      if (Object.keys(changes).length === 0) {
        throw new Invalid(
          'changes: give at least one attribute to change, e.g. {"changes": {"plan": "pro"}}.',
        );
      }
      if ('email' in changes) changes.email = email(changes.email, 'changes.email');
      return { kind: 'edit', ref, changes };
    }
    case '/users/tags/edit': {
      const ref = userRef(p, 'id', 'email', 'tags edit needs the user id (or email).');
      const add = tagList(p.add, 'add');
      const remove = tagList(p.remove, 'remove');
      if (add.length === 0 && remove.length === 0) {
        throw new Invalid('add/remove: give at least one tag to add or to remove.');
      }
      return { kind: 'tags', ref, add, remove };
    }
    case '/users/unsubscribe':
      return {
        kind: 'unsubscribe',
        ref: userRef(p, 'id', 'email', 'unsubscribe needs the user id (or email).'),
      };
    case '/users/resubscribe':
      return {
        kind: 'resubscribe',
        ref: userRef(p, 'id', 'email', 'resubscribe needs the user id (or email).'),
      };
    case '/users/delete':
      return { kind: 'delete', ref: userRef(p, 'id', 'email', 'delete needs the user id (or email).') };
    case '/users/reidentify': {
      const id = identifier(p.id, 'id');
      if (id === undefined) throw new Invalid('id: reidentify needs the current user id.');
      const newId = identifier(p.new_id, 'new_id');
      if (newId === undefined) throw new Invalid('new_id: reidentify needs the new user id.');
      return { kind: 'reidentify', id, newId };
    }
    case '/events/track': {
      if (p.identity === undefined || p.identity === null || p.identity === '') {
        throw new Invalid(
          'identity: track needs identity with id or email, e.g. {"identity": {"id": "42"}}.',
        );
      }
      if (!isPlainObject(p.identity)) throw new Invalid('identity: must be an object with id and/or email.');
      const identity = userRef(
        p.identity,
        'id',
        'email',
        'identity needs id or email (at least one).',
        'identity.',
      );
      const eventName = p.event_name;
      if (typeof eventName !== 'string' || eventName.trim() === '') {
        throw new Invalid('event_name: track needs a non-empty event_name.');
      }
      if (eventName.length >= MAX_LENGTH) {
        throw new Invalid(`event_name: must be under ${MAX_LENGTH} characters (got ${eventName.length}).`);
      }
      return {
        kind: 'event',
        identity,
        eventName,
        data: optionalObject(p.data, 'data'),
        extras: optionalObject(p.extras, 'extras'),
      };
    }
    case '/heartbeat':
      return { kind: 'heartbeat' };
  }
}

function userRef(p: Params, idKey: string, emailKey: string, missing: string, prefix = ''): UserRef {
  const id = identifier(p[idKey], `${prefix}${idKey}`);
  const raw = p[emailKey];
  const mail =
    raw === undefined || raw === null || raw === '' ? undefined : email(raw, `${prefix}${emailKey}`);
  if (id === undefined && mail === undefined) throw new Invalid(`${prefix}${idKey}: ${missing}`);
  const ref: UserRef = {};
  if (id !== undefined) ref.id = id;
  if (mail !== undefined) ref.email = mail;
  return ref;
}

function identifier(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new Invalid(`${field}: must be a string or a number.`);
  }
  const text = String(value);
  if (text.length >= MAX_LENGTH) {
    throw new Invalid(`${field}: must be under ${MAX_LENGTH} characters (got ${text.length}).`);
  }
  return text;
}

const EMAIL_RE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

function email(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new Invalid(`${field}: must be a string email address.`);
  if (value.length >= MAX_LENGTH) {
    throw new Invalid(`${field}: must be under ${MAX_LENGTH} characters (got ${value.length}).`);
  }
  if (!EMAIL_RE.test(value)) throw new Invalid(`${field}: "${value}" is not a valid email address.`);
  return value;
}

function optionalObject(value: unknown, field: string): Params {
  if (value === undefined || value === null || value === '') return {};
  if (!isPlainObject(value)) throw new Invalid(`${field}: must be an object of key/value pairs.`);
  return { ...value };
}

function tagList(value: unknown, field: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((tag, i) => {
    if (typeof tag !== 'string' && typeof tag !== 'number')
      throw new Invalid(`${field}[${i}]: a tag must be a string.`);
    return String(tag);
  });
}
