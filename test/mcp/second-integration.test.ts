import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createRuntime } from '../../src/index.js';
import type { Integration } from '../../src/integrations/definition.js';
import { vero } from '../../src/integrations/vero/index.js';
import { createMcpServer } from '../../src/mcp/index.js';
import type { Runtime } from '../../src/runtime/runtime.js';

// A second integration is a folder under integrations/: the MCP server must describe it with no edit of its own.
// Vero's functions under another name stand in for it; no call is made.
const plane = { ...vero, name: 'plane', title: 'Plane', accounts: { ...vero.accounts, prefix: 'PLANE' } };

describe('MCP server over two integrations', () => {
  let runtime: Runtime;
  let client: Client;

  before(async () => {
    runtime = createRuntime({ env: {}, integrations: [vero as Integration, plane as Integration] });
    const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(runtime).connect(serverSide);
    client = new Client({ name: 'second-integration-test', version: '1.0.0' });
    await client.connect(clientSide);
  });

  after(async () => {
    await client?.close();
    await runtime?.close();
  });

  test('instructions and built-in tool descriptions name every integration and its reference', async () => {
    const instructions = client.getInstructions() ?? '';
    for (const name of ['vero', 'plane']) {
      assert.match(instructions, new RegExp(`lua_read_doc\\("integrations\\.${name}"\\)`), instructions);
      assert.match(instructions, new RegExp(`\\b${name}_identify_user\\b`), instructions);
    }
    const { tools } = await client.listTools();
    const description = (name: string) => tools.find((tool) => tool.name === name)?.description ?? '';
    for (const name of ['vero', 'plane']) {
      assert.match(description('execute_lua'), new RegExp(`lua_read_doc\\("integrations\\.${name}"\\)`));
      assert.match(description('lua_read_doc'), new RegExp(`"integrations\\.${name}"`));
    }
    assert.ok(tools.some((tool) => tool.name === 'plane_track_event'));
  });
});
