/** Request body parsing: JSON, or form-encoded with bracketed nested keys as n8n sends them. */

export type Params = Record<string, unknown>;

export type ParsedBody = { ok: true; params: Params } | { ok: false; message: string };

/**
 * Keys that reach `Object.prototype` through an ordinary assignment (`data[__proto__][id]=x` once polluted every
 * object of the emulator). Refused in every body, JSON or form, anywhere in it; form objects are also built without
 * a prototype.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Fields per form body and brackets per form key: far above what Vero's clients send, far below a slow parse. */
export const MAX_FORM_FIELDS = 5000;
export const MAX_FORM_DEPTH = 16;

/**
 * A JSON text that could hold a reserved key: one spelt out, or any `\u` escape (which can spell one). Only such
 * bodies pay for the key-by-key check of a reviver; the rest (nearly all) take the plain, much faster JSON.parse.
 */
const MAY_SPELL_RESERVED = /__proto__|constructor|prototype|\\u/;

const refuseReserved = (key: string, item: unknown): unknown => {
  if (RESERVED_KEYS.has(key)) throw new BodyError(reservedKeyMessage(key, ''));
  return item;
};

/** A body the emulator refuses with a 400 and this message. */
class BodyError extends Error {}

const reservedKeyMessage = (key: string, where: string): string =>
  `Malformed body: the key "${key}"${where} is reserved (${[...RESERVED_KEYS].join(', ')} are refused anywhere in a body).`;

/** `Application/JSON; charset=utf-8` → `application/json`; '' when there is no Content-Type. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** A JSON or urlencoded body; `type` is the request's mediaType (anything but a form is read as JSON). */
export function parseBody(raw: string, type: string): ParsedBody {
  if (type === 'application/x-www-form-urlencoded') {
    try {
      return { ok: true, params: parseForm(new URLSearchParams(raw)) };
    } catch (error) {
      if (error instanceof BodyError) return { ok: false, message: error.message };
      throw error;
    }
  }
  if (raw.trim() === '') return { ok: true, params: {} };
  let value: unknown;
  try {
    value = MAY_SPELL_RESERVED.test(raw) ? JSON.parse(raw, refuseReserved) : JSON.parse(raw);
  } catch (error) {
    if (error instanceof BodyError) return { ok: false, message: error.message };
    return {
      ok: false,
      message: 'Malformed JSON body: send a JSON object (Content-Type: application/json).',
    };
  }
  if (!isPlainObject(value)) {
    return { ok: false, message: 'Malformed JSON body: the body must be a JSON object.' };
  }
  return { ok: true, params: value };
}

/**
 * `data[plan]=x&identity[id]=1&add[]=a&add[]=b` → `{ data: { plan: 'x' }, identity: { id: '1' }, add: ['a', 'b'] }`.
 * Linear in the body: appends (`add[]`) count per object instead of re-counting its keys. Throws BodyError for a
 * reserved key, too many fields or too deep a key.
 */
export function parseForm(search: URLSearchParams): Params {
  const root = emptyParams();
  const appended = new Map<Params, number>();
  let fields = 0;
  for (const [key, value] of search) {
    if (++fields > MAX_FORM_FIELDS) {
      throw new BodyError(
        `Malformed form body: more than ${MAX_FORM_FIELDS} fields; send fewer per request.`,
      );
    }
    const path = splitKey(key);
    if (path.length === 0) continue;
    if (path.length > MAX_FORM_DEPTH) {
      throw new BodyError(
        `Malformed form body: the key "${key.slice(0, 60)}" is nested more than ${MAX_FORM_DEPTH} levels.`,
      );
    }
    for (const segment of path) {
      if (RESERVED_KEYS.has(segment))
        throw new BodyError(reservedKeyMessage(segment, ` in "${key.slice(0, 60)}"`));
    }
    assign(root, path, value, appended);
  }
  const params: Params = {};
  for (const [key, value] of Object.entries(root)) params[key] = arraysFromIndexes(value);
  return params;
}

/** An object with no prototype: no key written into it can reach `Object.prototype`. */
function emptyParams(): Params {
  return Object.create(null) as Params;
}

function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return key === '' ? [] : [key];
  const parts = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^\]]*)\]/g;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    parts.push(m[1] ?? '');
  }
  return parts;
}

function assign(target: Params, path: string[], value: string, appended: Map<Params, number>): void {
  let node: Params = target;
  for (let i = 0; i < path.length; i++) {
    const last = i === path.length - 1;
    let seg = path[i] as string;
    if (seg === '') {
      // `a[]=x` appends: the next index after what this object already holds.
      const next = appended.get(node) ?? Object.keys(node).length;
      appended.set(node, next + 1);
      seg = String(next);
    }
    if (last) {
      node[seg] = value;
      return;
    }
    const next = node[seg];
    if (!isPlainObject(next)) node[seg] = emptyParams();
    node = node[seg] as Params;
  }
}

/** Objects whose keys are exactly 0..n-1 become arrays (form keys `a[]` and `a[0]`); others get a prototype back. */
function arraysFromIndexes(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const keys = Object.keys(value);
  const converted: Params = {};
  for (const k of keys) converted[k] = arraysFromIndexes(value[k]);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => converted[k]);
  return converted;
}

export function isPlainObject(value: unknown): value is Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
