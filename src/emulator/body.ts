/** Request body parsing: JSON, or form-encoded with bracketed nested keys as n8n sends them. */

export type Params = Record<string, unknown>;

export type ParsedBody = { ok: true; params: Params } | { ok: false; message: string };

export function parseBody(raw: string, contentType: string | undefined): ParsedBody {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded') {
    return { ok: true, params: parseForm(new URLSearchParams(raw)) };
  }
  if (raw.trim() === '') return { ok: true, params: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
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

/** `data[plan]=x&identity[id]=1&add[]=a&add[]=b` → `{ data: { plan: 'x' }, identity: { id: '1' }, add: ['a', 'b'] }`. */
export function parseForm(search: URLSearchParams): Params {
  const root: Params = {};
  for (const [key, value] of search) {
    const path = splitKey(key);
    if (path.length === 0) continue;
    assign(root, path, value);
  }
  const params: Params = {};
  for (const [key, value] of Object.entries(root)) params[key] = arraysFromIndexes(value);
  return params;
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

function assign(target: Params, path: string[], value: string): void {
  let node: Params = target;
  for (let i = 0; i < path.length; i++) {
    const last = i === path.length - 1;
    let seg = path[i] as string;
    if (seg === '') seg = String(Object.keys(node).length); // `a[]=x` appends
    if (last) {
      node[seg] = value;
      return;
    }
    const next = node[seg];
    if (!isPlainObject(next)) node[seg] = {};
    node = node[seg] as Params;
  }
}

/** Objects whose keys are exactly 0..n-1 become arrays (form keys `a[]` and `a[0]`). */
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
