/**
 * Vero (or a proxy) echoing the credential back with JSON escapes (`\u0043...`, `\/`): the raw response text never
 * contains it, the decoded message does. Nothing that leaves the client may hold the decoded credential: errors,
 * Vero's `message` on a write, Lua values, `call --json`, MCP-style results, the outbox's stored last error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { VeroClient } from '../../src/clients/vero/index.js';
import { createRuntime } from '../../src/index.js';
import { cli } from '../cli/support.js';
import { CANARY, exposed } from '../support/canary.js';
import { type EchoEscape, type EchoServer, startEchoServer } from '../support/echo-server.js';
import { rejection } from '../vero/support.js';

// A token with a slash, so the `\/` spelling has something to escape; it contains the canary.
const TOKEN = `${CANARY}/with-slash`;

const assertAbsent = (value: unknown, label: string) => {
  const text = `${exposed(value)}\n${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })}`;
  assert.ok(!text.includes(CANARY), `${label}: credential leaked: ${text.slice(0, 400)}`);
};

for (const spelling of ['unicode', 'slash'] as EchoEscape[]) {
  describe(`a credential echoed with ${spelling} JSON escapes`, () => {
    const servers: EchoServer[] = [];
    const start = async (status: number, field?: 'message' | 'error' | 'detail') => {
      const server = await startEchoServer({ status, escape: spelling, field });
      servers.push(server);
      return server;
    };
    after(async () => {
      for (const server of servers) await server.close();
    });

    it('is redacted in VeroClient errors, veroMessage and a success message', async () => {
      for (const field of ['message', 'error', 'detail'] as const) {
        const refused = await start(400, field);
        const client = new VeroClient({ authToken: TOKEN, baseUrl: refused.url, retry: false });
        const error = await rejection(client.identify({ id: 'u1' }));
        assertAbsent(error, `400 ${field}`);
        assert.match(error.message, /\[redacted\]/);
      }
      const accepted = await start(200);
      const ok = await new VeroClient({ authToken: TOKEN, baseUrl: accepted.url }).identify({ id: 'u1' });
      assert.equal(ok.message, 'bad auth_token [redacted]');
      const down = await start(503);
      const beat = await new VeroClient({ authToken: TOKEN, baseUrl: down.url }).heartbeat();
      assert.equal(beat.ok, false);
      assertAbsent(beat, 'heartbeat');
    });

    it('is redacted in a write result and a Lua error', async () => {
      const accepted = await start(200);
      const refused = await start(400);
      const runtime = createRuntime({
        env: { VERO_AUTH_TOKEN: TOKEN, VERO_BASE_URL: accepted.url },
        config: { accounts: { vero: { bad: { authToken: TOKEN, baseUrl: refused.url } } } },
      });
      try {
        const sent = await runtime.call('vero.unsubscribe', { id: 'u1' });
        assert.equal(sent.message, 'bad auth_token [redacted]');
        const run = await runtime.runLua(`
          local sent = app.integrations.vero.track_event({ identity = "u1", event_name = "e" })
          local ok, err = pcall(app.integrations.vero.bad.track_event, { identity = "u1", event_name = "e" })
          return { sent = sent.message, err = tostring(err) }
        `);
        assert.equal(run.ok, true, JSON.stringify(run.error));
        assertAbsent(run, 'lua run');
        assert.match(String((run.result as { err: string }).err), /\[redacted\]/);
      } finally {
        await runtime.close();
      }
    });

    it('is redacted in `call --json` and in the outbox last error printed by `outbox status`', async () => {
      const refused = await start(400);
      const outbox = join(mkdtempSync(join(tmpdir(), 'kosmo-vero-echo-')), 'outbox.db');
      const env = { VERO_AUTH_TOKEN: TOKEN, VERO_BASE_URL: refused.url, KOSMO_VERO_OUTBOX: outbox };
      const direct = await cli(['call', 'vero.unsubscribe', '{"id":"u1"}', '--json'], { env });
      assert.equal(direct.code, 1);
      assert.match(JSON.parse(direct.stdout).error.message, /\[redacted\]/);
      assertAbsent(direct, 'call --json');
      const queued = await cli(['call', 'vero.unsubscribe', '{"id":"u2"}', '--delivery', 'queued'], {
        env,
      });
      assert.equal(queued.code, 1, queued.stderr);
      assertAbsent(queued, 'queued call');
      for (const json of [[], ['--json']]) {
        const status = await cli(['outbox', 'status', ...json], { env });
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, /dead 1|"dead": 1/);
        assert.match(status.stdout, /\[redacted\]/);
        assertAbsent(status, `outbox status ${json.join(' ')}`);
      }
    });
  });
}
