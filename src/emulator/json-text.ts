/**
 * Structured fields sent as JSON *text*, decoded the way Vero does. Vero's own curl examples send
 * `-d 'identity={"id": 1234, ...}'` and `-d 'data={...}'` in form bodies; n8n's Vero node sends `data`, `extras` and
 * `add`/`remove` as `JSON.stringify(...)` strings; Postman's form-data bodies carry the same text. Vero reads those
 * as the objects and lists they spell, so the emulator does too: `add='["a","b"]'` is the two tags a and b.
 * Kept apart from body.ts: this runs on the parameters of every body kind (JSON, form, multipart).
 */
import { isPlainObject, type Params } from './body.js';

/** Fields Vero takes as objects. */
const OBJECT_FIELDS = ['identity', 'data', 'extras', 'changes'] as const;
/** Fields Vero takes as lists. A plain word (`add=vip`) stays one tag. */
const LIST_FIELDS = ['add', 'remove', 'channels'] as const;

export type Decoded = { ok: true; params: Params } | { ok: false; message: string };

export function decodeJsonText(params: Params): Decoded {
  let decoded: Params | undefined;
  for (const field of OBJECT_FIELDS) {
    const value = params[field];
    if (typeof value !== 'string' || value.trim() === '') continue;
    const parsed = parseJson(value);
    if (!isPlainObject(parsed)) {
      return {
        ok: false,
        message: `${field}: must be an object; text is read as JSON and ${JSON.stringify(shorten(value))} is not a JSON object.`,
      };
    }
    decoded ??= { ...params };
    decoded[field] = parsed;
  }
  for (const field of LIST_FIELDS) {
    const value = params[field];
    if (typeof value !== 'string' || !value.trimStart().startsWith('[')) continue;
    const parsed = parseJson(value);
    if (!Array.isArray(parsed)) {
      return {
        ok: false,
        message: `${field}: text starting with "[" is read as a JSON list, and ${JSON.stringify(shorten(value))} is not one.`,
      };
    }
    decoded ??= { ...params };
    decoded[field] = parsed;
  }
  return { ok: true, params: decoded ?? params };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
