/**
 * Local validation and wire-body building, one builder per operation. Plain checks on purpose: this runs on
 * every call and the client is measured against a bare fetch loop. A builder either throws
 * VeroValidationError (nothing is sent) or returns the snake_case body without the credential.
 */
import { VeroValidationError } from './errors.js';
import { VERO_OPERATIONS, type VeroInputs, type VeroWriteOperation } from './operations.js';

/** Vero's limit for ids, emails and event names: under 255 characters. */
export const MAX_FIELD_LENGTH = 254;

/**
 * Pragmatic: one @, a non-empty local part, a domain of two or more non-empty dot-separated labels, no spaces.
 * The emulator (which depends on nothing) applies the same pattern, as Vero answers 400 to these.
 */
const EMAIL_RE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export type WireBody = Record<string, unknown>;

function fail(op: VeroWriteOperation, field: string | undefined, rule: string): never {
  const where = field === undefined ? `${op}: ` : `${op}: ${field}: `;
  throw new VeroValidationError(`${where}${rule}`, { endpoint: VERO_OPERATIONS[op].path, field });
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Quote a user value for a message, shortened so a huge value cannot flood logs. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkInput(op: VeroWriteOperation, input: unknown): Record<string, unknown> {
  if (!isPlainObject(input)) fail(op, undefined, `expected an object of arguments, got ${typeName(input)}`);
  return input;
}

/** A non-empty string under the length limit (ids, event names). */
function checkString(op: VeroWriteOperation, field: string, value: unknown): string {
  if (value === undefined || value === null) fail(op, field, 'is required');
  if (typeof value !== 'string') fail(op, field, `must be a string, got ${typeName(value)}`);
  if (value.trim() === '') fail(op, field, 'must not be empty');
  if (value.length > MAX_FIELD_LENGTH) {
    fail(op, field, `must be under 255 characters (got ${value.length})`);
  }
  return value;
}

function checkEmail(op: VeroWriteOperation, field: string, value: unknown): string {
  const email = checkString(op, field, value);
  if (!EMAIL_RE.test(email)) fail(op, field, `invalid email address ${quote(email)}`);
  return email;
}

function checkData(
  op: VeroWriteOperation,
  field: string,
  value: unknown,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) fail(op, field, `must be an object of attributes, got ${typeName(value)}`);
  return value;
}

function checkTags(op: VeroWriteOperation, field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(op, field, `must be an array of tag names, got ${typeName(value)}`);
  for (let i = 0; i < value.length; i++) {
    const tag: unknown = value[i];
    if (typeof tag !== 'string' || tag.trim() === '') {
      fail(op, `${field}[${i}]`, `must be a non-empty string, got ${quoteAny(tag)}`);
    }
  }
  return value as string[];
}

function quoteAny(value: unknown): string {
  return typeof value === 'string' ? quote(value) : typeName(value);
}

/** Optional id/email pair where at least one is required (identify, event identity). */
function checkIdOrEmail(
  op: VeroWriteOperation,
  prefix: string,
  id: unknown,
  email: unknown,
  missingField: string,
): { id?: string; email?: string } {
  const out: { id?: string; email?: string } = {};
  if (id !== undefined) out.id = checkString(op, `${prefix}id`, id);
  if (email !== undefined) out.email = checkEmail(op, `${prefix}email`, email);
  if (out.id === undefined && out.email === undefined) {
    fail(op, missingField, 'give an id or an email (at least one is required)');
  }
  return out;
}

function identify(raw: VeroInputs['identify']): WireBody {
  const input = checkInput('identify', raw);
  const body: WireBody = checkIdOrEmail('identify', '', input.id, input.email, 'id');
  const data = checkData('identify', 'data', input.data);
  if (data !== undefined) body.data = data;
  return body;
}

function editUser(raw: VeroInputs['editUser']): WireBody {
  const input = checkInput('editUser', raw);
  const id = checkString('editUser', 'id', input.id);
  if (input.changes === undefined) fail('editUser', 'changes', 'is required');
  const changes = checkData('editUser', 'changes', input.changes) as Record<string, unknown>;
  if (Object.keys(changes).length === 0)
    fail('editUser', 'changes', 'must have at least one attribute to change');
  if (changes.email !== undefined) checkEmail('editUser', 'changes.email', changes.email);
  return { id, changes };
}

function editTags(raw: VeroInputs['editTags']): WireBody {
  const input = checkInput('editTags', raw);
  const id = checkString('editTags', 'id', input.id);
  const add = checkTags('editTags', 'add', input.add);
  const remove = checkTags('editTags', 'remove', input.remove);
  if (add.length === 0 && remove.length === 0) {
    fail('editTags', 'add', 'give at least one tag to add or remove');
  }
  return { id, add, remove };
}

function userId(op: 'unsubscribe' | 'resubscribe' | 'deleteUser') {
  return (raw: VeroInputs[typeof op]): WireBody => {
    const input = checkInput(op, raw);
    return { id: checkString(op, 'id', input.id) };
  };
}

function reidentify(raw: VeroInputs['reidentify']): WireBody {
  const input = checkInput('reidentify', raw);
  const id = checkString('reidentify', 'id', input.id);
  const newId = checkString('reidentify', 'newId', input.newId);
  if (newId === id) fail('reidentify', 'newId', 'must differ from id');
  return { id, new_id: newId };
}

function trackEvent(raw: VeroInputs['trackEvent']): WireBody {
  const input = checkInput('trackEvent', raw);
  const rawIdentity = input.identity;
  if (rawIdentity === undefined)
    fail('trackEvent', 'identity', 'is required (an object with id and/or email)');
  if (!isPlainObject(rawIdentity)) {
    fail('trackEvent', 'identity', `must be an object with id and/or email, got ${typeName(rawIdentity)}`);
  }
  const identity = checkIdOrEmail('trackEvent', 'identity.', rawIdentity.id, rawIdentity.email, 'identity');
  const body: WireBody = { identity, event_name: checkString('trackEvent', 'eventName', input.eventName) };
  const data = checkData('trackEvent', 'data', input.data);
  if (data !== undefined) body.data = data;
  const extras = checkData('trackEvent', 'extras', input.extras);
  if (extras !== undefined) {
    const wireExtras: WireBody = {};
    if (extras.source !== undefined) {
      if (typeof extras.source !== 'string') {
        fail('trackEvent', 'extras.source', `must be a string, got ${typeName(extras.source)}`);
      }
      wireExtras.source = extras.source;
    }
    if (extras.createdAt !== undefined) {
      if (typeof extras.createdAt !== 'string' || Number.isNaN(Date.parse(extras.createdAt))) {
        fail(
          'trackEvent',
          'extras.createdAt',
          `must be an ISO 8601 date string, got ${quoteAny(extras.createdAt)}`,
        );
      }
      wireExtras.created_at = extras.createdAt;
    }
    body.extras = wireExtras;
  }
  return body;
}

/** Validate `input` for `op` and return its wire body (without credential). */
export const BODY_BUILDERS: { [Op in VeroWriteOperation]: (input: VeroInputs[Op]) => WireBody } = {
  identify,
  editUser,
  editTags,
  unsubscribe: userId('unsubscribe'),
  resubscribe: userId('resubscribe'),
  reidentify,
  deleteUser: userId('deleteUser'),
  trackEvent,
};

/** The same email rule the client enforces, for layers that validate before building a request. */
export const isValidEmail = (value: string): boolean => EMAIL_RE.test(value);
