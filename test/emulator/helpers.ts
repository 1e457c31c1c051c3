/** Shared helpers for emulator tests: real HTTP against a started emulator. */
import { CANARY } from '../support/canary.js';

export { CANARY };

export interface Answer {
  status: number;
  body: { status?: number; message?: string } & Record<string, unknown>;
  headers: Headers;
}

export interface CallOptions {
  /** 'json' (default), 'form' (urlencoded with bracketed keys) or 'query' (credential in the query string, JSON body). */
  via?: 'json' | 'form' | 'query';
  token?: string | null;
  field?: 'auth_token' | 'tracking_api_key';
  signal?: AbortSignal;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  params: Record<string, unknown> = {},
  options: CallOptions = {},
): Promise<Answer> {
  const via = options.via ?? 'json';
  const field = options.field ?? 'auth_token';
  const token = options.token === undefined ? CANARY : options.token;
  let url = `${baseUrl}${path}`;
  let body: string | undefined;
  let contentType = 'application/json';
  if (via === 'query') {
    if (token !== null) url += `?${new URLSearchParams({ [field]: token })}`;
    body = JSON.stringify(params);
  } else if (via === 'form') {
    contentType = 'application/x-www-form-urlencoded';
    const form = new URLSearchParams();
    if (token !== null) form.append(field, token);
    appendForm(form, '', params);
    body = form.toString();
  } else {
    body = JSON.stringify(token === null ? params : { ...params, [field]: token });
  }
  const res = await fetch(url, {
    method,
    headers: { 'content-type': contentType },
    body: method === 'GET' ? undefined : body,
    signal: options.signal,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : JSON.parse(text), headers: res.headers };
}

/** n8n-style nesting: data[plan]=x, add[]=a. */
function appendForm(form: URLSearchParams, prefix: string, value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) form.append(`${prefix}[]`, String(item));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) appendForm(form, prefix === '' ? k : `${prefix}[${k}]`, v);
  } else if (value !== undefined) {
    form.append(prefix, String(value));
  }
}

export const SUCCESS = { status: 200, message: 'Success.' };
export const ALREADY = { status: 200, message: 'Request already received.' };
