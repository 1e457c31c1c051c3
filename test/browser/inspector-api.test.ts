/** The HTTP side of the inspector page: its files, and the paged /_emulator/view it polls. No browser needed. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
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
  totals: { users: number; events: number; requests: number };
  users: Page<{ id: string }>;
  events: Page<{ event_name: string; data: { n?: number } }> & { user: string | null };
  requests: Page<{ status: number; token: string | null }>;
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
    assert.deepEqual(body.totals, { users: 2, events: 9, requests: 11 });
    assert.deepEqual(
      body.events.rows.map((e) => e.event_name),
      ['Other', 'By email', 'Tick'],
    );
    assert.equal(body.events.limit, 3);
    assert.equal(body.users.rows[0]?.id, 'usr_2');
    assert.equal(body.requests.rows.length, 11);
    assert.equal(body.requests.rows[0]?.token, 'default');

    const older = await view(emu, '?events_offset=3&events_limit=3');
    assert.deepEqual(
      older.body.events.rows.map((e) => e.data.n),
      [5, 4, 3],
    );
  });

  it('filters events by user id, including events sent with that user’s email', async () => {
    const byId = await view(emu, '?user=usr_1');
    assert.equal(byId.body.events.user, 'usr_1');
    assert.equal(byId.body.events.total, 8);
    assert.ok(byId.body.events.rows.some((e) => e.event_name === 'By email'));
    assert.ok(!byId.body.events.rows.some((e) => e.event_name === 'Other'));
    const byEmail = await view(emu, '?user=one%40example.com');
    assert.equal(byEmail.body.events.total, 1);
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
      const body = (await res.json()) as { message: string };
      assert.match(body.message, /_(limit|offset): must be a whole number/);
    }
  });

  it('shows a reset at once', async () => {
    assert.ok((await view(emu)).body.totals.events > 0);
    const res = await fetch(`${emu.inspectorUrl}reset`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.deepEqual((await view(emu)).body.totals, { users: 0, events: 0, requests: 0 });
  });
});
