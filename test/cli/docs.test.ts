import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { cli, lines } from './support.js';

// What `lua_read_doc` and friends return, to compare the command's output with.
const reference = createRuntime({ env: {} });

describe('kosmo-vero docs', { concurrency: true }, () => {
  test('no page: the Vero reference, exactly what lua_read_doc returns', async () => {
    const run = await cli(['docs']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, reference.readDoc('integrations.vero'));
  });

  test('one page, and --json', async () => {
    const [text, json] = await Promise.all([
      cli(['docs', 'integrations.vero.track_event']),
      cli(['docs', 'integrations.vero.track_event', '--json']),
    ]);
    assert.equal(text.code, 0);
    assert.equal(text.stdout, reference.readDoc('integrations.vero.track_event'));
    assert.deepEqual(JSON.parse(json.stdout), {
      ok: true,
      page: 'integrations.vero.track_event',
      text: reference.readDoc('integrations.vero.track_event'),
    });
  });

  test('--list: every page with its title', async () => {
    const [text, json] = await Promise.all([cli(['docs', '--list']), cli(['docs', '--list', '--json'])]);
    assert.equal(text.code, 0);
    assert.deepEqual(
      lines(text.stdout),
      reference.listDocs().map((p) => `${p.page}\t${p.title}`),
    );
    assert.deepEqual(JSON.parse(json.stdout), { ok: true, pages: reference.listDocs() });
  });

  test('--search: pages with the matching lines; no match says so', async () => {
    const [hits, json, none] = await Promise.all([
      cli(['docs', '--search', 'unsubscribe']),
      cli(['docs', '--search', 'unsubscribe', '--json']),
      cli(['docs', '--search', 'zebra-quokka']),
    ]);
    assert.equal(hits.code, 0);
    assert.match(hits.stdout, /^integrations\.vero\.unsubscribe\t/m);
    assert.deepEqual(JSON.parse(json.stdout), {
      ok: true,
      query: 'unsubscribe',
      hits: reference.searchDocs('unsubscribe'),
    });
    assert.equal(none.code, 0);
    assert.equal(none.stdout, 'no page mentions "zebra-quokka"\n');
  });

  test('an unknown page: exit 1, one line suggesting the right one', async () => {
    const run = await cli(['docs', 'integrations.vero.track_evnt']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(lines(run.stderr).length, 1);
    assert.match(run.stderr, /^kosmo-vero: Page 'integrations\.vero\.track_evnt' not found\./);
    assert.match(run.stderr, /integrations\.vero\.track_event/);
  });
});
