import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createRuntime } from '../../src/index.js';
import { vero } from '../../src/integrations/vero/index.js';
import { createMcpServer } from '../../src/mcp/index.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { notes } from '../fixtures/integrations/notes/index.js';
import { type NotesService, startNotesService } from '../fixtures/integrations/notes/service.js';
import { CANARY_MARKETING, exposed } from '../support/canary.js';

// A second integration is a folder (test/fixtures/integrations/notes): the MCP server describes and serves it with
// no edit of its own.
describe('MCP server over two integrations', () => {
  let service: NotesService;
  let runtime: Runtime;
  let client: Client;

  before(async () => {
    service = await startNotesService([CANARY_MARKETING]);
    runtime = createRuntime({
      env: { NOTES_API_KEY: CANARY_MARKETING, NOTES_URL: service.url },
      integrations: [vero, notes],
    });
    const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(runtime).connect(serverSide);
    client = new Client({ name: 'second-integration-test', version: '1.0.0' });
    await client.connect(clientSide);
  });

  after(async () => {
    await client?.close();
    await runtime?.close();
    await service?.close();
  });

  test('instructions and built-in tool descriptions name every integration and its reference', async () => {
    const instructions = client.getInstructions() ?? '';
    for (const [name, example] of [
      ['vero', 'vero_identify_user'],
      ['notes', 'notes_add_note'],
    ]) {
      assert.match(instructions, new RegExp(`lua_read_doc\\("integrations\\.${name}"\\)`), instructions);
      assert.match(instructions, new RegExp(`\\b${example}\\b`), instructions);
    }
    const { tools } = await client.listTools();
    const description = (name: string) => tools.find((tool) => tool.name === name)?.description ?? '';
    for (const name of ['vero', 'notes']) {
      assert.match(description('execute_lua'), new RegExp(`lua_read_doc\\("integrations\\.${name}"\\)`));
      assert.match(description('lua_read_doc'), new RegExp(`"integrations\\.${name}"`));
    }
    const archive = tools.find((tool) => tool.name === 'notes_archive_note');
    assert.deepEqual(archive?.inputSchema.required, ['id']);
  });

  test('its tools reach its own service', async () => {
    const result = await client.callTool({ name: 'notes_add_note', arguments: { title: 'From MCP' } });
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.deepEqual(result.structuredContent, {
      status: 'sent',
      function_name: 'notes.add_note',
      account: 'default',
      title: 'From MCP',
      message: 'added n1',
    });
    assert.deepEqual(
      service.notes.map((note) => note.title),
      ['From MCP'],
    );
    assert.ok(!exposed(result).includes(CANARY_MARKETING));
  });
});
