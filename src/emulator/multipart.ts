/**
 * `multipart/form-data` bodies (Postman's "form-data" body type, as in Vero's Postman collection). Parsed by the
 * platform's own WHATWG `Response.formData()` (undici, built into Node 20) rather than a hand-written parser or a
 * dependency; its text fields then go through the same bracketed-key rules as a urlencoded form.
 * Kept apart from body.ts, which stays synchronous for the JSON and urlencoded bodies every benchmark sends.
 */
import { type ParsedBody, parseForm } from './body.js';

/** The mediaType (body.ts) of a multipart body. */
export const MULTIPART = 'multipart/form-data';

export async function parseMultipart(raw: string, contentType: string): Promise<ParsedBody> {
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch {
    return {
      ok: false,
      message:
        'Malformed multipart/form-data body: check the boundary in Content-Type and that every part names its field.',
    };
  }
  const fields = new URLSearchParams();
  form.forEach((value, name) => {
    // A file part has no place in a Track API call; only text fields are parameters.
    if (typeof value === 'string') fields.append(name, value);
  });
  return { ok: true, params: parseForm(fields) };
}
