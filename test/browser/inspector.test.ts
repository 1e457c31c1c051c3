/**
 * The emulator inspector page in headless Chromium: what a person sees after the published workflows run through
 * the runtime, refused requests, live refresh, reset, 10 000 events, a phone-width window, and no credential anywhere.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import type { Runtime } from '../../src/runtime/runtime.js';
import { CANARY, CANARY_MARKETING } from '../support/canary.js';
import { type Harness, startHarness } from '../support/runtime.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const SKIP = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does) to run browser tests`;

// The published page's onboarding and churn workflows, as the repo ships them (each ends with a print).
const example = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../../examples/${name}`, import.meta.url)), 'utf8');
const ONBOARD_LUA = example('onboard.lua');
const CHURN_LUA = example('churn.lua');

/** Runs a workflow through the runtime's Lua sandbox, as an agent would. */
async function runWorkflow(runtime: Runtime, lua: string, calls: number): Promise<void> {
  const run = await runtime.runLua(lua);
  assert.equal(run.ok, true, `Lua workflow failed: ${JSON.stringify(run.error)}`);
  assert.equal(run.calls.length, calls);
}

/** A raw Vero request, the way an arbitrary client (or attacker) could send it. */
async function rawVero(harness: Harness, path: string, body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${harness.emulator.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Many events fast: node:http over a few kept-alive sockets (fetch opening a socket per request is 5x slower). */
async function bulkTrack(harness: Harness, total: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${harness.emulator.url}/events/track`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    const batch = 200;
    for (let start = 0; start < total; start += batch) {
      const statuses = await Promise.all(
        Array.from({ length: Math.min(batch, total - start) }, (_, i) =>
          post(
            JSON.stringify({
              auth_token: CANARY,
              identity: { id: `bulk_${(start + i) % 20}` },
              event_name: 'Viewed page',
              data: { n: start + i },
            }),
          ),
        ),
      );
      assert.ok(
        statuses.every((s) => s === 200),
        'every bulk event is accepted',
      );
    }
  } finally {
    agent.destroy();
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The header is sticky: from the top, a full-page shot shows it once, where it belongs.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/** The text a person sees (innerText: rendered text, hidden parts left out), which is what these tests are about. */
// biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, and the rendered text is the point.
const seen = (locator: Locator): Promise<string> => locator.innerText();

const text = async (page: Page, selector: string) => (await seen(page.locator(selector))).trim();

describe('emulator inspector page in Chromium', { skip: SKIP }, () => {
  let harness: Harness;
  let browser: Browser;
  let page: Page;

  before(async () => {
    harness = await startHarness();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('shows the onboarded user with their attributes and the "Signed up" event', async () => {
    await runWorkflow(harness.runtime, ONBOARD_LUA, 2);
    await page.goto(harness.emulator.inspectorUrl);
    const row = page.locator('#users tbody tr', { hasText: 'usr_456' });
    await row.waitFor();
    const rowText = await seen(row);
    for (const part of ['usr_456', 'jane@example.com', 'Jane Smith', 'plan', 'free', '2025-06-15']) {
      assert.ok(rowText.includes(part), `user row shows ${part}: ${rowText}`);
    }
    assert.equal(await seen(row.locator('.badge')), 'Subscribed');
    const event = page.locator('#events li', { hasText: 'Signed up' });
    await event.waitFor();
    assert.match(await seen(event), /usr_456/);
    await event.locator('summary').click();
    assert.match(await seen(event.locator('pre').first()), /"source": "landing_page"/);
    const requests = await text(page, '#requests tbody');
    assert.match(requests, /\/users\/track/);
    assert.match(requests, /\/events\/track/);
    assert.match(requests, /default/, 'the request log names the account whose token matched');
    await screenshot(page, 'inspector-onboarded');
  });

  it('picks up the churn workflow live, without a reload: event and unsubscribed user', async () => {
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    await runWorkflow(harness.runtime, CHURN_LUA, 2);
    await page.locator('#events li', { hasText: 'Cancelled subscription' }).waitFor({ timeout: 10_000 });
    const row = page.locator('#users tbody tr', { hasText: 'usr_456' });
    await row.locator('.badge', { hasText: 'Unsubscribed' }).waitFor({ timeout: 10_000 });
    assert.equal(
      await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument),
      true,
    );
    // Newest first: the cancellation is above the signup.
    const names = await page.locator('#events .event-name').allInnerTexts();
    assert.deepEqual(names.slice(0, 2), ['Cancelled subscription', 'Signed up']);
  });

  it('shows the profile an email-only event creates, marked "email as id", apart from the user with that email', async () => {
    const run = await harness.runtime.runLua(
      'app.integrations.vero.track_event({ identity = "jane@example.com", event_name = "Opened app" })',
    );
    assert.equal(run.ok, true, JSON.stringify(run.error));
    const emailProfile = page.locator('#users tbody tr[data-user-id="jane@example.com"]');
    await emailProfile.locator('.badge', { hasText: 'email as id' }).waitFor({ timeout: 10_000 });
    assert.equal(
      await page
        .locator('#users tbody tr[data-user-id="usr_456"] .badge', { hasText: 'email as id' })
        .count(),
      0,
    );
    await emailProfile.locator('button.id').click();
    await page.locator('#totals', { hasText: '1 for jane@example.com' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await page.locator('#events .event-name').allInnerTexts(), ['Opened app']);
    await page.locator('#filter-clear').click();
    await page.locator('#events li', { hasText: 'Cancelled subscription' }).waitFor({ timeout: 10_000 });
  });

  it('shows refused requests with their reason and which token matched', async () => {
    assert.equal(
      await rawVero(harness, '/users/track', {
        auth_token: 'WRONG-TOKEN',
        id: 'usr_999',
        email: 'x@example.com',
      }),
      401,
    );
    assert.equal(
      await rawVero(harness, '/users/track', {
        auth_token: CANARY_MARKETING,
        id: 'usr_777',
        email: 'not-an-email',
      }),
      400,
    );
    const unauthorized = page.locator('#requests tbody tr', { hasText: '401' });
    await unauthorized.waitFor({ timeout: 10_000 });
    assert.match(await seen(unauthorized), /Unauthorized/);
    assert.match(await seen(unauthorized), /unknown token/);
    const invalid = page.locator('#requests tbody tr', { hasText: '400' });
    await invalid.waitFor({ timeout: 10_000 });
    const invalidText = await seen(invalid);
    assert.match(invalidText, /email/i, `the 400 says what was wrong: ${invalidText}`);
    assert.match(
      invalidText,
      /marketing/,
      'the refused request still names the account whose token it carried',
    );
    await screenshot(page, 'inspector-refused');
  });

  it('renders attacker-controlled ids and data as text, never as markup', async () => {
    const evil = '<img src=x onerror="window.pwned=1">';
    assert.equal(
      await rawVero(harness, '/users/track', {
        auth_token: CANARY,
        id: evil,
        data: { note: '<script>window.pwned=2</script>' },
      }),
      200,
    );
    assert.equal(
      await rawVero(harness, '/events/track', {
        auth_token: CANARY,
        identity: { id: evil },
        event_name: '<b onmouseover="window.pwned=3">bold</b>',
        data: { html: '<iframe src="javascript:window.pwned=4">' },
      }),
      200,
    );
    const row = page.locator('#users tbody tr', { hasText: evil });
    await row.waitFor({ timeout: 10_000 });
    await page.locator('#events .event-name', { hasText: '<b onmouseover' }).waitFor();
    assert.equal(await page.locator('#users img, #events img, #events b, iframe, main script').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  });

  it('never shows a credential: not in the page, the view or the state', async () => {
    const html = await page.content();
    for (const secret of [CANARY, CANARY_MARKETING]) {
      assert.ok(!html.includes(secret), 'the page HTML carries no credential');
      for (const path of ['view', 'state']) {
        const body = await (await fetch(`${harness.emulator.inspectorUrl}${path}`)).text();
        assert.ok(!body.includes(secret), `${path} carries no credential`);
      }
    }
  });

  it('is readable at phone width (375 px) without horizontal overflow', async () => {
    const phone = await browser.newPage({ viewport: { width: 375, height: 812 }, isMobile: true });
    try {
      await phone.goto(harness.emulator.inspectorUrl);
      await phone.locator('#users tbody tr', { hasText: 'usr_456' }).waitFor();
      await phone.locator('#requests tbody tr', { hasText: '401' }).waitFor();
      const widths = await phone.evaluate(() => ({
        viewport: document.documentElement.clientWidth,
        document: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
      }));
      assert.ok(widths.document <= widths.viewport, `document overflows: ${JSON.stringify(widths)}`);
      assert.ok(widths.body <= widths.viewport, `body overflows: ${JSON.stringify(widths)}`);
      await screenshot(phone, 'inspector-375px');
    } finally {
      await phone.close();
    }
  });

  it('pages through 10 000 events and stays responsive while live', async () => {
    const before = harness.emulator.state().events.length;
    const total = 10_000;
    await bulkTrack(harness, total);
    const all = before + total;
    const range = page.locator('#events-pager .range');
    await page.waitForFunction(
      (expected) => document.querySelector('#events-pager .range')?.textContent?.endsWith(`of ${expected}`),
      all.toLocaleString('en-US'),
      { timeout: 15_000 },
    );
    assert.equal(await seen(range), `1–50 of ${all.toLocaleString('en-US')}`);
    assert.equal(await page.locator('#events li').count(), 50, 'only one page of events is in the DOM');
    // The request log keeps the newest 10 000 (the default cap) and the totals say how many older ones it dropped;
    // every event is still there.
    const { requestsDropped } = harness.emulator.state();
    assert.ok(requestsDropped > 0);
    await page
      .locator('#totals', {
        hasText: `10,000 requests (${requestsDropped.toLocaleString('en-US')} older dropped)`,
      })
      .waitFor({ timeout: 10_000 });

    // Idle polls answer "unchanged" instead of shipping the lists again.
    const idle = await page.waitForResponse(
      (r) => r.url().includes('/_emulator/view?') && r.url().includes('since='),
    );
    assert.deepEqual(Object.keys((await idle.json()) as object).sort(), ['revision', 'unchanged']);

    await page.locator('#events-pager button', { hasText: 'Older ›' }).click({ timeout: 15_000 });
    await page.waitForFunction(
      () => document.querySelector('#events-pager .range')?.textContent?.startsWith('51–100 of'),
      undefined,
      { timeout: 15_000 },
    );
    assert.match(await seen(page.locator('#events li').first()), /Viewed page/);

    await page.locator('#events-pager button', { hasText: 'Oldest »' }).click();
    await page.waitForFunction(
      (expected) =>
        document.querySelector('#events-pager .range')?.textContent?.endsWith(`${expected} of ${expected}`),
      all.toLocaleString('en-US'),
    );
    // The oldest page ends with the onboarding signup.
    const names = await page.locator('#events .event-name').allInnerTexts();
    assert.equal(names.at(-1), 'Signed up');

    // Per-user filter, from the users table.
    await page.locator('#users tbody tr', { hasText: 'usr_456' }).locator('button.id').click();
    await page.waitForFunction(() => document.querySelectorAll('#events li').length === 2);
    assert.deepEqual(await page.locator('#events .event-name').allInnerTexts(), [
      'Cancelled subscription',
      'Signed up',
    ]);
    await screenshot(page, 'inspector-10k-filtered');
    await page.locator('#filter-clear').click();
    await page.waitForFunction(() => document.querySelectorAll('#events li').length === 50);
    await screenshot(page, 'inspector-10k');
    await page.evaluate(() => document.getElementById('events-section')?.scrollIntoView());
    await page.screenshot({ path: `${ARTIFACTS}inspector-10k-events.png` });
  });

  it('the reset button empties the emulator and the page follows', async () => {
    await page.locator('#reset').click();
    await page.locator('#users-empty').waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('#events-empty').waitFor({ state: 'visible' });
    assert.equal(harness.emulator.state().users.length, 0);
    assert.equal(harness.emulator.state().events.length, 0);
    assert.match(await text(page, '#totals'), /^0 users · 0 events · 0 requests$/);
    assert.equal(await page.locator('#events-pager button').count(), 0);
  });
});
