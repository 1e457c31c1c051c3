// The CLI's entry, dist/cli/bin.js, is rewritten as one file holding our code, zod and commander: Node 20 reads,
// links and compiles each ES module on its own, and the ~200 files a `run` loaded cost more than the run itself.
// Code a command needs only when it runs stays lazy (esbuild evaluates a dynamically imported module on first
// import). The library (dist/index.js and the rest of dist/) is left as tsc wrote it.
//
// What stays outside the bundle, loaded from node_modules when used:
// - CommonJS packages we load with `requirePackage` (wasmoon, better-sqlite3, pg, csv-parse): native addons and
//   WASM find their files beside their own modules;
// - the MCP SDK (with ajv and its own zod imports): only `mcp` and `serve` need it, and in the bundle it more than
//   doubled what every `run` parses.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const dir = 'dist/cli';
const entry = join(dir, 'bin.js');

/** Each module's `import.meta.url` stays its own file's URL, so assets beside it (Lua prelude, guides, the worker,
 * package.json) resolve as they do unbundled. */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      // Only the URL is kept (`import.meta.resolve` finds packages from the bundle's folder, in the same package).
      if (/\bimport\.meta\.(dirname|filename)\b/.test(source)) {
        throw new Error(`${path}: use import.meta.url, the only module location the bundle keeps`);
      }
      if (!/\bimport\.meta\.url\b/.test(source)) return undefined;
      const fromBundle = JSON.stringify(relative(dir, path));
      return {
        contents: source.replaceAll(/\bimport\.meta\.url\b/g, `new URL(${fromBundle}, import.meta.url).href`),
      };
    });
  },
};

// The entry must be tsc's: a second run over a bundled entry would bundle the chunks deleted next.
if ((await readFile(entry, 'utf8')).includes('requireFor(import.meta.url)')) {
  throw new Error(`${entry} is bundled already: run tsc first (npm run build)`);
}
// A previous build's chunks: their names carry a hash of their content.
for (const file of await readdir(dir)) if (file.startsWith('chunk-')) await rm(join(dir, file));

const { metafile } = await build({
  entryPoints: [entry],
  outdir: dir,
  allowOverwrite: true,
  // A lazily imported module goes to a chunk of its own (beside the entry, so module URLs above hold): an import of
  // an external package made in one file would load it at start-up.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['wasmoon', 'better-sqlite3', 'pg', 'csv-parse', '@modelcontextprotocol/sdk'],
  // Bundled CommonJS (commander) calls `require` for Node's built-ins.
  banner: {
    js: "import { createRequire as requireFor } from 'node:module'; const require = requireFor(import.meta.url);",
  },
  plugins: [keepModuleUrls],
  logLevel: 'warning',
  metafile: true,
  // Maps back to src/ through tsc's maps, as for the rest of dist/ (replacing tsc's map of the entry).
  sourcemap: true,
});

// Which modules each file of the bundle holds (paths from the project root): how a test tells what a command loaded.
const contents = Object.fromEntries(
  Object.entries(metafile.outputs).map(([file, { inputs }]) => [relative(dir, file), Object.keys(inputs)]),
);
await writeFile(join(dir, 'bundle-contents.json'), `${JSON.stringify(contents, null, 1)}\n`);
