/**
 * Preloaded with `node --import ./test/support/record-imports.mjs`: appends the URL of every module the process
 * imports to the file named by KOSMO_RECORD_IMPORTS, one per line, so a test can tell what a command loaded. The
 * main thread's CommonJS modules (packages loaded with `require` where first used) are added when the process exits.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env.KOSMO_RECORD_IMPORTS;
if (file) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    let file;
    export function initialize(data) { file = data.file; }
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      appendFileSync(file, resolved.url + '\\n');
      return resolved;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { file } });
  const required = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    appendFileSync(
      file,
      Object.keys(required)
        .map((path) => `${pathToFileURL(path).href}\n`)
        .join(''),
    );
  });
}
