/** The HTTP side of the inspector page: its files, and the paged /_emulator/view it polls. No browser needed. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { StateFile } from '../../src/emulator/state-file.js';
import { EmulatorStore } from '../../src/emulator/store.js';
import { CANARY } from '../support/canary.js';

interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  rows: T[];
}

interface View {
  revision: number;
  unchanged?: true;
  totals: { users: number; events: number; requests: number; requestsDropped: number };
  users: Page<{ id: string }>;
  events: Page<{ event_name: string; identity: { id?: string; email?: string }; data: { n?: number } }> & {
    user: string | null;
  };
  requests: Page<{ seq: number; status: number; token: string | null }>;
}

async function vero(emu: RunningEmulator, path: string, body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth_token: CANARY, ...body }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function view(emu: RunningEmulator, query = ''): Promise<{ status: number; body: View }> {
  const res = await fetch(`${emu.inspectorUrl}view${query}`);
  return { status: res.status, body: (await res.json()) as View };
}

describe('inspector page files and GET /_emulator/view', () => {
  let emu: RunningEmulator;

  before(async () => {
    emu = await startEmulator({ tokens: [{ token: CANARY, label: 'default' }] });
    await vero(emu, '/users/track', { id: 'usr_1', email: 'one@example.com' });
    await vero(emu, '/users/track', { id: 'usr_2', email: 'two@example.com' });
    for (let n = 0; n < 7; n++)
      await vero(emu, '/events/track', { identity: { id: 'usr_1' }, event_name: 'Tick', data: { n } });
    await vero(emu, '/events/track', {
      identity: { email: 'one@example.com' },
      event_name: 'By email',
      data: {},
    });
    await vero(emu, '/events/track', { identity: { id: 'usr_2' }, event_name: 'Other', data: {} });
  });

  after(async () => {
    await emu.close();
  });

  it('serves the page, its script and its style with a strict content security policy', async () => {
    for (const [path, type] of [
      ['', /^text\/html/],
      ['app.js', /^text\/javascript/],
      ['style.css', /^text\/css/],
    ] as const) {
      const res = await fetch(`${emu.inspectorUrl}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.ok((await res.text()).length > 100);
    }
  });

  it('answers one newest-first page of each list, with totals', async () => {
    const { status, body } = await view(emu, '?events_limit=3');
    assert.equal(status, 200);
    // Three users: the email-only event created the profile whose id is one@example.com (Vero's id-only rule).
    assert.deepEqual(body.totals, { users: 3, events: 9, requests: 11, requestsDropped: 0 });
    assert.deepEqual(
      body.events.rows.map((e) => e.event_name),
      ['Other', 'By email', 'Tick'],
    );
    assert.equal(body.events.limit, 3);
    assert.deepEqual(
      body.users.rows.map((u) => u.id),
      ['one@example.com', 'usr_2', 'usr_1'],
    );
    assert.equal(body.requests.rows.length, 11);
    assert.equal(body.requests.rows[0]?.token, 'default');

    const older = await view(emu, '?events_offset=3&events_limit=3');
    assert.deepEqual(
      older.body.events.rows.map((e) => e.data.n),
      [5, 4, 3],
    );
  });

  it('filters events by profile id; an event sent with only an email belongs to the profile whose id is that email', async () => {
    const byId = await view(emu, '?user=usr_1');
    assert.equal(byId.body.events.user, 'usr_1');
    assert.equal(byId.body.events.total, 7);
    assert.ok(!byId.body.events.rows.some((e) => e.event_name === 'By email'), 'Vero matches on id only');
    assert.ok(!byId.body.events.rows.some((e) => e.event_name === 'Other'));
    const byEmail = await view(emu, '?user=one%40example.com');
    assert.equal(byEmail.body.events.total, 1);
    assert.equal(byEmail.body.events.rows[0]?.event_name, 'By email');
    assert.equal(byEmail.body.totals.events, 9, 'totals stay unfiltered');
  });

  it('answers "unchanged" to a poll that already has the latest revision', async () => {
    const first = await view(emu);
    const again = await view(emu, `?since=${first.body.revision}`);
    assert.deepEqual(again.body, { revision: first.body.revision, unchanged: true });
    await vero(emu, '/events/track', { identity: { id: 'usr_2' }, event_name: 'Later', data: {} });
    const next = await view(emu, `?since=${first.body.revision}`);
    assert.equal(next.body.unchanged, undefined);
    assert.equal(next.body.events.rows[0]?.event_name, 'Later');
  });

  it('refuses a bad page parameter, naming it', async () => {
    for (const query of ['?events_limit=0', '?events_limit=501', '?users_offset=-1', '?requests_limit=ten']) {
      const res = await fetch(`${emu.inspectorUrl}view${query}`);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, 'emulator_bad_query', query);
      assert.match(body.message, /_(limit|offset): must be a whole number/);
    }
  });

  it('shows a reset at once', async () => {
    assert.ok((await view(emu)).body.totals.events > 0);
    const res = await fetch(`${emu.inspectorUrl}reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual((await view(emu)).body.totals, { users: 0, events: 0, requests: 0, requestsDropped: 0 });
  });
});

describe('GET /_emulator/view over 20 000 events', () => {
  const BULK = 20_000;
  const PEOPLE = 20;
  // The request log holds all of them here (its default cap is 10 000): this pages a big log, not a capped one.
  const MAX_REQUESTS = 2 * BULK;
  // Every third event names its person by email only: by Vero's id-only rule it belongs to the profile whose id is
  // that email, not to usr_<p>, and the per-user filter must keep the two apart.
  const identityOf = (n: number) =>
    n % 3 === 0 ? { email: `p${n % PEOPLE}@example.com` } : { id: `usr_${n % PEOPLE}` };
  const dir = mkdtempSync(join(tmpdir(), 'kosmo-vero-view-'));
  const dbPath = join(dir, 'state.db');
  let emu: RunningEmulator;

  before(async () => {
    // Seeded through the real store and its file in one transaction (20k HTTP requests would take seconds), then
    // served by an emulator that reads the file back.
    const store = new EmulatorStore(new StateFile(dbPath, MAX_REQUESTS), MAX_REQUESTS);
    const at = Date.now();
    store.transaction(() => {
      for (let p = 0; p < PEOPLE; p++) store.saveUser(store.newUser(`usr_${p}`, `p${p}@example.com`, at));
      for (let n = 0; n < BULK; n++) {
        const identity = identityOf(n);
        store.addEvent({ identity, eventName: 'Viewed page', data: { n }, extras: {}, receivedAt: at });
        store.insertRequest({
          method: 'POST',
          path: '/api/v2/events/track',
          endpoint: '/events/track',
          status: 200,
          message: 'Success.',
          token: 'default',
          body: { identity, event_name: 'Viewed page', data: { n } },
          receivedAt: at,
        });
      }
    });
    store.close();
    emu = await startEmulator({
      dbPath,
      maxRequests: MAX_REQUESTS,
      tokens: [{ token: CANARY, label: 'default' }],
    });
  });

  after(async () => {
    await emu?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ns = (page: View['events']) => page.rows.map((e) => e.data.n);
  const newestFirst = Array.from({ length: BULK }, (_, n) => BULK - 1 - n);
  /** n of every event of usr_<p> (sent with the id), newest first. */
  const eventsOf = (p: number) => newestFirst.filter((n) => n % PEOPLE === p && n % 3 !== 0);
  /** n of every event sent with only p<p>@example.com, newest first. */
  const emailEventsOf = (p: number) => newestFirst.filter((n) => n % PEOPLE === p && n % 3 === 0);

  it('answers the newest page with totals of all rows', async () => {
    const { status, body } = await view(emu);
    assert.equal(status, 200);
    assert.deepEqual(body.totals, { users: PEOPLE, events: BULK, requests: BULK, requestsDropped: 0 });
    assert.deepEqual(
      { total: body.events.total, offset: body.events.offset, limit: body.events.limit },
      { total: BULK, offset: 0, limit: 50 },
    );
    assert.deepEqual(
      ns(body.events),
      Array.from({ length: 50 }, (_, i) => BULK - 1 - i),
    );
    assert.equal(body.events.user, null);
    assert.deepEqual(
      body.users.rows.map((u) => u.id),
      Array.from({ length: PEOPLE }, (_, i) => `usr_${PEOPLE - 1 - i}`),
    );
    assert.equal(body.requests.total, BULK);
    assert.equal(body.requests.rows[0]?.seq, BULK);
  });

  it('answers a page in the middle and the short oldest page', async () => {
    const middle = await view(emu, '?events_offset=10000&events_limit=500&requests_offset=10000');
    assert.deepEqual(
      ns(middle.body.events),
      Array.from({ length: 500 }, (_, i) => 9999 - i),
    );
    assert.equal(middle.body.requests.rows[0]?.seq, 10_000);
    const oldest = await view(emu, '?events_offset=19990&requests_offset=19999&users_offset=19');
    assert.deepEqual(ns(oldest.body.events), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    assert.deepEqual(oldest.body.events.rows.at(-1)?.identity, { email: 'p0@example.com' });
    assert.deepEqual(
      oldest.body.requests.rows.map((r) => r.seq),
      [1],
    );
    assert.deepEqual(
      oldest.body.users.rows.map((u) => u.id),
      ['usr_0'],
    );
    const past = await view(emu, '?events_offset=25000');
    assert.deepEqual(past.body.events.rows, []);
    assert.equal(past.body.events.total, BULK);
  });

  it('filters one profile by id and pages the result; email-only events stay with the email’s own profile', async () => {
    const expected = eventsOf(7);
    const first = await view(emu, '?user=usr_7&events_limit=100');
    assert.equal(first.body.events.user, 'usr_7');
    assert.equal(first.body.events.total, expected.length);
    assert.deepEqual(ns(first.body.events), expected.slice(0, 100));
    assert.ok(first.body.events.rows.every((e) => e.identity.id === 'usr_7'));
    assert.equal(first.body.totals.events, BULK, 'totals stay unfiltered');
    const last = await view(emu, `?user=usr_7&events_offset=${expected.length - 5}`);
    assert.deepEqual(ns(last.body.events), expected.slice(-5));

    const byEmail = await view(emu, '?user=p7%40example.com');
    const sentWithEmail = emailEventsOf(7);
    assert.equal(byEmail.body.events.total, sentWithEmail.length);
    assert.deepEqual(ns(byEmail.body.events), sentWithEmail.slice(0, 50));
    const nobody = await view(emu, '?user=usr_404');
    assert.deepEqual(
      { total: nobody.body.events.total, rows: nobody.body.events.rows },
      { total: 0, rows: [] },
    );
  });

  it('shows a write at once, however big the store', async () => {
    const seen = await view(emu);
    assert.equal(
      await vero(emu, '/events/track', { identity: { id: 'usr_3' }, event_name: 'Just now', data: {} }),
      200,
    );
    const next = await view(emu, `?since=${seen.body.revision}`);
    assert.notEqual(next.body.revision, seen.body.revision);
    assert.equal(next.body.events.rows[0]?.event_name, 'Just now');
    assert.deepEqual(next.body.totals, {
      users: PEOPLE,
      events: BULK + 1,
      requests: BULK + 1,
      requestsDropped: 0,
    });
    assert.equal((await view(emu, '?user=usr_3')).body.events.total, eventsOf(3).length + 1);
  });
});
