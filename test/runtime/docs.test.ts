import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { vero } from '../../src/integrations/vero/index.js';
import { renderNamespacePage } from '../../src/runtime/docs.js';

// The published page's "Raw agent markdown", with its obfuscated addresses replaced by example.com ones.
const published = readFileSync(new URL('../fixtures/published-vero-reference.md', import.meta.url), 'utf8');
const runtime = createRuntime({ env: {} });
const reference = runtime.readDoc('integrations.vero');

describe('reference docs rendered from the function metadata', () => {
  test('the published part equals the published page: order, parameter rows, examples, workflows', () => {
    const start = reference.indexOf('# Vero — Lua API Reference\n');
    const extras = reference.indexOf('\n---\n\n## Beyond the Published Reference');
    assert.ok(start > 0, 'the generated signature index comes first');
    assert.ok(extras > start, 'extra functions follow in a section of their own');
    assert.equal(reference.slice(start, extras), published);
  });

  test('beyond the published part: the identity rule, the dedup warning and the event time', () => {
    const tail = reference.slice(reference.indexOf('## Beyond the Published Reference'));
    assert.match(tail, /### More parameters of track_event\n\n[^#]*\| `extras` \| object \| no \|/);
    assert.match(tail, /`track_event` with an email identity does not reach a user you identified\nby id/);
    assert.match(
      tail,
      /`unsubscribe`, `resubscribe`, `unsubscribe` for one user within 5 minutes: the third call is dropped/,
    );
    assert.match(
      tail,
      /`track_event` sends `extras\.created_at`: the moment the function was called, as an ISO 8601 UTC date-time/,
    );
  });

  test('the extra functions are documented after the published ones', () => {
    const tail = reference.slice(reference.indexOf('## Beyond the Published Reference'));
    for (const name of ['alias_user', 'delete_user', 'add_tags', 'remove_tags']) {
      assert.match(tail, new RegExp(`^### ${name}$`, 'm'));
    }
  });

  test('docs/lua/vero.md is up to date (run `npm run docs` when this fails)', () => {
    const committed = readFileSync(new URL('../../docs/lua/vero.md', import.meta.url), 'utf8');
    assert.equal(committed, renderNamespacePage(vero));
  });

  test('one function page', () => {
    const page = runtime.readDoc('integrations.vero.track_event');
    assert.match(page, /^# track_event\n\nTrack a behavioral event for a user\./);
    assert.match(page, /\| `event_name` \| string \| yes \|/);
    assert.match(page, /Full name `vero\.track_event`; operation: write\./);
    assert.match(
      page,
      /## Good to know\n\n- Vero matches users by id only: an email `identity` reaches the profile whose id is that email/,
    );
    assert.match(
      runtime.readDoc('integrations.vero.unsubscribe'),
      /unsubscribe, resubscribe, unsubscribe .* leaves the user subscribed/,
    );
    assert.match(runtime.readDoc('integrations.vero.get_current_user'), /## Parameters\n\nNone\./);
  });

  test("the namespace page starts with KosmoKrator's signature index; function pages end with their tool", () => {
    const index = reference.slice(0, reference.indexOf('# Vero — Lua API Reference'));
    assert.match(index, /^# app\.integrations\.vero — Vero\n/);
    const signatures = [
      ...index.matchAll(/^app\.integrations\.vero\.(\w+\(\{.*\}\)) {2}-- (read|write)$/gm),
    ].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(signatures, [
      'identify_user({id, email, name?, data?}) write',
      'track_event({identity, event_name, data?, extras?}) write',
      'update_user({id, email?, data?}) write',
      'unsubscribe({id}) write',
      'resubscribe({id}) write',
      'get_current_user({}) read',
      'alias_user({id, new_id}) write',
      'delete_user({id}) write',
      'add_tags({id, tags}) write',
      'remove_tags({id, tags}) write',
    ]);
    assert.match(index, /positional arguments map onto the parameters in the order shown/);
    for (const fn of runtime.functions()) {
      const page = runtime.readDoc(`integrations.vero.${fn.name}`);
      assert.ok(page.endsWith(`*(Maps to tool: \`${fn.slug}\`)*\n`), fn.name);
    }
    assert.match(
      runtime.readDoc('integrations.vero.track_event'),
      /`app\.integrations\.vero\.track_event\(identity, event_name, data\?, extras\?\)`/,
    );
  });

  test("KosmoKrator's page spellings: a leading app., and docs.read's short names", () => {
    assert.equal(runtime.readDoc('app.integrations.vero'), reference);
    assert.equal(runtime.readDoc('vero'), reference);
    assert.equal(runtime.readDoc('vero.track_event'), runtime.readDoc('integrations.vero.track_event'));
  });

  test('the integrations index counts functions and the read/write split', () => {
    const index = runtime.readDoc('integrations');
    assert.match(index, /\| `vero` \| Vero \| 10 \| 1 \| 9 \| `lua_read_doc\("integrations\.vero"\)` \|/);
  });

  test('list and search cover every page', () => {
    const pages = runtime.listDocs().map((p) => p.page);
    assert.deepEqual(pages.slice(0, 3), [
      'integrations',
      'integrations.vero',
      'integrations.vero.identify_user',
    ]);
    assert.equal(pages.length, 12);
    const hits = runtime.searchDocs('unsubscribe campaigns');
    assert.equal(hits[0]?.page, 'integrations.vero.unsubscribe');
    assert.ok(hits.some((hit) => hit.page === 'integrations.vero'));
    assert.ok(
      hits[0]?.matches.some((line) => line.includes('Unsubscribe a user from all Vero email campaigns.')),
    );
    assert.deepEqual(runtime.searchDocs('zebra'), []);
  });

  test('an unknown page suggests the nearest ones', () => {
    assert.throws(() => runtime.readDoc('integrations.vero.trak_event'), {
      code: 'unknown_doc_page',
      message:
        /^Page 'integrations\.vero\.trak_event' not found\. Did you mean "integrations\.vero\.track_event"\?/,
    });
    assert.throws(() => runtime.readDoc('integration'), { message: /Did you mean "integrations"\?/ });
  });
});
