import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cycles, folderGraph, importGraph } from '../support/import-graph.js';

// Layers point one way (ARCHITECTURE.md): no file of src/, and no top-level folder, imports one that imports it
// back, type imports included.
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

describe('src/ import graph', () => {
  const graph = importGraph(SRC);

  test('the graph is read: the library entry reaches the runtime, the tools and the built-in integrations', () => {
    assert.ok(graph.size > 50, `${graph.size} files`);
    const entry = graph.get('index.ts') ?? [];
    for (const file of ['runtime/runtime.ts', 'tools/index.ts', 'integrations/index.ts']) {
      assert.ok(entry.includes(file), `index.ts -> ${file}: ${entry.join(', ')}`);
    }
  });

  test('no file imports one that imports it back', () => {
    assert.deepEqual(cycles(graph), []);
  });

  test('no top-level folder imports one that imports it back', () => {
    assert.deepEqual(cycles(folderGraph(graph)), []);
  });

  test('only the edges (index.ts, cli/) choose integrations; generic code imports their contract only', () => {
    const chosen = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((target) => target.startsWith('integrations/') && target !== 'integrations/definition.ts')
        .filter(() => !file.startsWith('integrations/') && file !== 'index.ts' && !file.startsWith('cli/'))
        .map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(chosen, []);
  });
});

describe('the cycle check itself', () => {
  // A check that cannot fail proves nothing: it must see a cycle made of type imports and one of folders.
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-imports-'));
  mkdirSync(join(dir, 'low'));
  mkdirSync(join(dir, 'high'));
  writeFileSync(join(dir, 'low/a.ts'), "import type { B } from './b.js';\nexport type A = B;\n");
  writeFileSync(join(dir, 'low/b.ts'), "export type { A } from './a.js';\nexport type B = string;\n");
  writeFileSync(join(dir, 'low/c.ts'), "import { h } from '../high/h.js';\nexport const c = h;\n");
  writeFileSync(
    join(dir, 'high/h.ts'),
    "export const h = 1;\nexport const lazy = () => import('../low/c.js');\n",
  );
  writeFileSync(join(dir, 'high/i.ts'), "import type { A } from '../low/a.js';\nexport type I = A;\n");
  const graph = importGraph(dir);

  test('type imports and re-exports make a file cycle', () => {
    assert.deepEqual(cycles(graph), [
      ['high/h.ts', 'low/c.ts'],
      ['low/a.ts', 'low/b.ts'],
    ]);
  });

  test('files that do not import each other still make a folder cycle', () => {
    assert.deepEqual(cycles(folderGraph(graph)), [['high', 'low']]);
  });
});
