// The emulator inspector page: plain DOM, no dependencies, served from /_emulator/.
// Every value from the emulator (user ids, emails, event data, messages) is attacker-controlled: it reaches the DOM
// only through textContent and attribute setters, never through innerHTML.

const PAGE_SIZE = 50;
const POLL_MS = 1000;
const LISTS = ['users', 'events', 'requests'];
const numbers = new Intl.NumberFormat('en-US');

const ui = {
  offsets: { users: 0, events: 0, requests: 0 },
  user: '',
  revision: null,
  live: true,
  /** Bumped when what to show changes; an answer asked for under an older generation is dropped. */
  generation: 0,
  inFlight: false,
  again: false,
  /** Expanded rows, kept across the re-render a refresh does. */
  open: { events: new Set(), requests: new Set(), users: new Set() },
  knownUsers: '',
};

const $ = (id) => document.getElementById(id);

/** Builds an element; `text` goes through textContent, so markup in data stays text. */
function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.title) node.title = props.title;
  if (props.label) node.dataset.label = props.label;
  for (const child of children) if (child) node.append(child);
  return node;
}

function formatValue(value) {
  if (value === null) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function timeOf(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return el('time', { text: iso });
  const node = el('time', { text: date.toLocaleTimeString([], { hour12: false }), title: iso });
  node.dateTime = iso;
  return node;
}

/** Attributes as a key/value list. */
function keyValues(data) {
  const entries = Object.entries(data ?? {});
  if (entries.length === 0) return el('span', { className: 'muted', text: '—' });
  return el(
    'dl',
    { className: 'kv' },
    entries.map(([key, value]) =>
      el('div', {}, [el('dt', { text: key }), el('dd', { text: formatValue(value) })]),
    ),
  );
}

function badge(text, kind, title) {
  return el('span', { className: `badge ${kind}`, text, title });
}

/** A <details> that remembers being open across refreshes. */
function expandable(list, key, summary, body) {
  const details = el('details', {}, [summary, body]);
  details.open = ui.open[list].has(key);
  details.addEventListener('toggle', () => {
    if (details.open) ui.open[list].add(key);
    else ui.open[list].delete(key);
  });
  return details;
}

function json(value) {
  return el('pre', { className: 'json', text: JSON.stringify(value, null, 2) });
}

const EMAIL_ID = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

function userRow(user) {
  const idButton = el('button', {
    className: 'link id',
    text: user.id,
    title: 'Show only this user’s events',
  });
  idButton.type = 'button';
  idButton.addEventListener('click', () => {
    setUserFilter(user.id);
    $('events-section').scrollIntoView({ block: 'start' });
  });
  const tags = user.tags.length
    ? el(
        'ul',
        { className: 'tags' },
        user.tags.map((tag) => el('li', { text: tag })),
      )
    : el('span', { className: 'muted', text: '—' });
  const subscription = user.unsubscribed ? badge('Unsubscribed', 'bad') : badge('Subscribed', 'good');
  // Vero matches profiles on id only: a request naming just an email creates (or reaches) the profile whose id is
  // that email, a different profile from any user with another id and the same email.
  const emailId = EMAIL_ID.test(user.id)
    ? badge(
        'email as id',
        'warn',
        'Created by a request that named only an email: Vero uses the email as the id. Writes by id to another profile never reach this one.',
      )
    : null;
  const row = el('tr', {}, [
    el('td', { label: 'ID' }, [idButton, emailId]),
    el('td', { label: 'Email', text: user.email ?? '—', className: user.email ? 'mono' : 'muted' }),
    el('td', { label: 'Attributes' }, [keyValues(user.data)]),
    el('td', { label: 'Tags' }, [tags]),
    el('td', { label: 'Subscription' }, [subscription]),
  ]);
  row.dataset.userId = user.id;
  return row;
}

function who(identity) {
  if (identity.id !== undefined) return identity.id;
  if (identity.email !== undefined) return identity.email;
  return '(no identity)';
}

function eventItem(event) {
  const summary = el('summary', {}, [
    el('span', { className: 'event-name', text: event.event_name }),
    el('span', { className: 'event-who mono', text: who(event.identity) }),
    timeOf(event.received_at),
  ]);
  const body = el('div', { className: 'event-body' }, [
    el('h3', { text: 'Data' }),
    json(event.data),
    Object.keys(event.extras ?? {}).length ? el('h3', { text: 'Extras' }) : null,
    Object.keys(event.extras ?? {}).length ? json(event.extras) : null,
    el('h3', { text: 'Identity' }),
    json(event.identity),
  ]);
  const item = el('li', { className: 'event' }, [expandable('events', event.seq, summary, body)]);
  item.dataset.seq = String(event.seq);
  return item;
}

function statusBadge(status) {
  if (status === null) return badge('no answer', 'warn', 'Dropped or left hanging by a scripted fault');
  if (status >= 200 && status < 300) return badge(String(status), 'good');
  if (status === 429 || status >= 500) return badge(String(status), 'warn');
  return badge(String(status), 'bad');
}

function tokenCell(token) {
  if (token === null) return badge('none sent', 'muted-badge');
  if (token === 'unknown') return badge('unknown token', 'bad', 'The credential matched no configured token');
  return badge(token, 'token', 'Label of the configured token that matched');
}

function requestRow(request) {
  const what = el('span', {
    className: 'mono',
    text: `${request.method} ${request.endpoint ?? request.path}`,
  });
  const cell =
    request.body === null || request.body === undefined
      ? el('td', { label: 'Request' }, [what])
      : el('td', { label: 'Request' }, [
          expandable('requests', request.seq, el('summary', {}, [what]), json(request.body)),
        ]);
  const row = el('tr', {}, [
    el('td', { label: 'Time' }, [timeOf(request.received_at)]),
    cell,
    el('td', { label: 'Status' }, [statusBadge(request.status)]),
    el('td', { label: 'Message', text: request.message ?? '—', className: 'message' }),
    el('td', { label: 'Token' }, [tokenCell(request.token)]),
  ]);
  row.dataset.seq = String(request.seq);
  if (request.status !== null && request.status >= 400) row.classList.add('refused');
  return row;
}

/** Fills the list's pager (and its top copy, on the long lists); hidden while everything fits on one page. */
function pager(list, page) {
  const navs = [$(`${list}-pager-top`), $(`${list}-pager`)].filter(Boolean);
  if (page.total <= page.limit && page.offset === 0) {
    for (const nav of navs) nav.replaceChildren();
    return;
  }
  const last = Math.max(0, Math.floor((page.total - 1) / page.limit) * page.limit);
  const button = (text, offset, disabled, label) => {
    const b = el('button', { text, title: label });
    b.type = 'button';
    b.disabled = disabled;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', () => {
      ui.offsets[list] = Math.min(Math.max(0, offset), last);
      changed();
    });
    return b;
  };
  const first = page.total === 0 ? 0 : page.offset + 1;
  const to = Math.min(page.offset + page.limit, page.total);
  for (const nav of navs) {
    nav.replaceChildren(
      button('« Newest', 0, page.offset === 0, 'Newest page'),
      button('‹ Newer', page.offset - page.limit, page.offset === 0, 'Newer page'),
      el('span', {
        className: 'range',
        text: `${numbers.format(first)}–${numbers.format(to)} of ${numbers.format(page.total)}`,
      }),
      button('Older ›', page.offset + page.limit, page.offset >= last, 'Older page'),
      button('Oldest »', last, page.offset >= last, 'Oldest page'),
    );
  }
}

function fill(list, page, make) {
  const target = list === 'events' ? $('events') : $(list).tBodies[0];
  target.replaceChildren(...page.rows.map(make));
  $(`${list}-empty`).hidden = page.rows.length > 0;
  pager(list, page);
}

function render(view) {
  fill('users', view.users, userRow);
  fill('events', view.events, eventItem);
  fill('requests', view.requests, requestRow);
  // The totals double as links to the sections: with 50 rows a list, the request log is a long way down.
  const filter = view.events.user ? ` (${numbers.format(view.events.total)} for ${view.events.user})` : '';
  // The log keeps the newest requests only (the emulator's maxRequests); say so once it has dropped some.
  const dropped = view.totals.requestsDropped
    ? ` (${numbers.format(view.totals.requestsDropped)} older dropped)`
    : '';
  const link = (href, text) => Object.assign(el('a', { text }), { href });
  $('totals').replaceChildren(
    link('#users-section', `${numbers.format(view.totals.users)} users`),
    ' · ',
    link('#events-section', `${numbers.format(view.totals.events)} events${filter}`),
    ' · ',
    link('#requests-section', `${numbers.format(view.totals.requests)} requests${dropped}`),
  );
  $('events-empty').textContent = view.events.user ? `No events for ${view.events.user}.` : 'No events yet.';
  const ids = view.users.rows.map((u) => u.id);
  if (ids.join('\n') !== ui.knownUsers) {
    ui.knownUsers = ids.join('\n');
    $('user-ids').replaceChildren(...ids.map((id) => Object.assign(el('option'), { value: id })));
  }
  // A page that emptied (after a reset, say) moves back to one that has rows.
  for (const list of LISTS) {
    const page = view[list];
    if (page.rows.length === 0 && page.offset > 0) {
      ui.offsets[list] = Math.max(0, Math.floor((page.total - 1) / page.limit) * page.limit);
      queueMicrotask(changed);
    }
  }
}

function setLive(state, text) {
  const node = $('live');
  node.dataset.state = state;
  node.textContent = text;
}

function notice(text) {
  const node = $('notice');
  node.textContent = text ?? '';
  node.hidden = !text;
}

/** Fetches the shown pages; `force` skips the "nothing changed" shortcut (new offsets or filter). */
async function refresh(force) {
  if (ui.inFlight) {
    ui.again = ui.again || force;
    return;
  }
  ui.inFlight = true;
  const generation = ui.generation;
  const query = new URLSearchParams();
  for (const list of LISTS) {
    query.set(`${list}_offset`, String(ui.offsets[list]));
    query.set(`${list}_limit`, String(PAGE_SIZE));
  }
  if (ui.user) query.set('user', ui.user);
  if (!force && ui.revision !== null) query.set('since', String(ui.revision));
  try {
    const res = await fetch(`view?${query}`, { cache: 'no-store' });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
    if (generation === ui.generation) {
      if (!body.unchanged) render(body);
      ui.revision = body.revision;
    }
    setLive(
      ui.live ? 'live' : 'paused',
      `${ui.live ? 'Live' : 'Paused'} · ${new Date().toLocaleTimeString([], { hour12: false })}`,
    );
    notice(null);
  } catch (error) {
    setLive('error', 'Not reachable');
    notice(`Could not load the emulator state: ${error.message}. Retrying while live.`);
  } finally {
    ui.inFlight = false;
    if (ui.again || generation !== ui.generation) {
      ui.again = false;
      refresh(true);
    }
  }
}

function changed() {
  ui.generation += 1;
  refresh(true);
}

function setUserFilter(user) {
  ui.user = user.trim();
  $('user-filter').value = ui.user;
  ui.offsets.events = 0;
  changed();
}

async function reset() {
  if (!window.confirm('Reset the emulator? This deletes every user, event and logged request.')) return;
  const button = $('reset');
  button.disabled = true;
  try {
    const res = await fetch('reset', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    for (const list of LISTS) ui.offsets[list] = 0;
    ui.open.events.clear();
    ui.open.requests.clear();
    changed();
  } catch (error) {
    notice(`Reset failed: ${error.message}.`);
  } finally {
    button.disabled = false;
  }
}

function start() {
  $('reset').addEventListener('click', reset);
  $('live-toggle').addEventListener('change', (event) => {
    ui.live = event.target.checked;
    setLive(ui.live ? 'live' : 'paused', ui.live ? 'Live' : 'Paused');
    if (ui.live) refresh(false);
  });
  let typing;
  $('user-filter').addEventListener('input', (event) => {
    clearTimeout(typing);
    typing = setTimeout(() => setUserFilter(event.target.value), 300);
  });
  $('filter').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(typing);
    setUserFilter($('user-filter').value);
  });
  $('filter-clear').addEventListener('click', () => setUserFilter(''));
  setInterval(() => {
    if (ui.live && !document.hidden) refresh(false);
  }, POLL_MS);
  document.addEventListener('visibilitychange', () => {
    if (ui.live && !document.hidden) refresh(false);
  });
  refresh(true);
}

start();
