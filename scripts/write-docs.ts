// Writes each integration's Lua namespace page (signature index, then the reference) to docs/lua/<name>.md (checked by test/runtime/docs.test.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { builtinIntegrations } from '../src/integrations/index.js';
import { renderNamespacePage } from '../src/runtime/docs.js';

mkdirSync('docs/lua', { recursive: true });
for (const integration of builtinIntegrations) {
  writeFileSync(`docs/lua/${integration.name}.md`, renderNamespacePage(integration));
  console.log(`wrote docs/lua/${integration.name}.md`);
}
