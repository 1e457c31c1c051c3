/** The /_emulator/ routes: the inspector page, its paged view, state, reset and fault scripting. Not part of Vero. */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatorError } from './errors.js';
import { type FaultQueue, parseFaults } from './faults.js';
import { readBody, sendJson } from './http.js';
import type { EmulatorStore } from './store.js';
import type { EmulatorEvent, EmulatorRequest, EmulatorState, EmulatorUser } from './types.js';

export const INSPECTOR_PREFIX = '/_emulator';

/** The paged reads the view needs: the emulator's store answers each from memory, copying only the page's rows. */
export type ViewSource = Pick<
  EmulatorStore,
  'counts' | 'usersPage' | 'eventsPage' | 'requestsPage' | 'userEventsPage'
>;

export interface InspectorDeps {
  state(): EmulatorState;
  reset(): void;
  faults: FaultQueue;
  /** Changes whenever the state does. */
  revision(): number;
  store: ViewSource;
}

/** One page of a newest-first list. */
export interface ViewPage<T> {
  total: number;
  offset: number;
  limit: number;
  rows: T[];
}

/** GET /_emulator/view: what the inspector page shows, a page of each list instead of everything. */
export interface InspectorView {
  revision: number;
  /** `requestsDropped`: requests the capped log has dropped (see the emulator's maxRequests). */
  totals: { users: number; events: number; requests: number; requestsDropped: number };
  users: ViewPage<EmulatorUser>;
  /** `user` is the filter applied: a profile id (an email-only event's profile id is its email), null for all events. */
  events: ViewPage<EmulatorEvent> & { user: string | null };
  requests: ViewPage<EmulatorRequest>;
}

export const VIEW_DEFAULT_LIMIT = 50;
export const VIEW_MAX_LIMIT = 500;

/** Static files of the page; read from disk beside this module (dist/ gets them from scripts/copy-assets.mjs). */
const ASSETS: Record<string, { file: string; type: string }> = {
  'GET /_emulator': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'GET /_emulator/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'GET /_emulator/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const PAGE_DIR = new URL('./page/', import.meta.url);

// The page renders attacker-controlled ids and event data; a strict policy backs up its textContent-only rendering.
const ASSET_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** A 400 body: the stable code to branch on and the message naming the field. */
function errorBody(error: EmulatorError): { ok: false; code: string; message: string } {
  return { ok: false, code: error.code, message: error.message };
}

class ViewQueryError extends EmulatorError {
  constructor(message: string) {
    super('emulator_bad_query', message);
  }
}

export interface Inspector {
  deps: InspectorDeps;
  view(query: URLSearchParams): InspectorView | { revision: number; unchanged: true };
  asset(file: string): Promise<Buffer>;
}

export function createInspector(deps: InspectorDeps): Inspector {
  const assets = new Map<string, Buffer>();

  return {
    deps,
    view(query) {
      // Polling an idle emulator costs nothing; otherwise each list is a count plus the page's rows (users take a
      // pointer copy of the whole list first), so a view costs about the same at 20 rows or 20 000.
      const revision = deps.revision();
      const since = query.get('since');
      if (since !== null && since !== '' && Number(since) === revision) return { revision, unchanged: true };
      const users = pageParams(query, 'users');
      const events = pageParams(query, 'events');
      const requests = pageParams(query, 'requests');
      const user = query.get('user')?.trim() || null;
      const { store } = deps;
      const totals = store.counts();
      const matched =
        user === null
          ? { total: totals.events, rows: store.eventsPage(events.limit, events.offset) }
          : store.userEventsPage(user, events.limit, events.offset);
      return {
        revision,
        totals,
        users: pageOf(totals.users, users, store.usersPage(users.limit, users.offset)),
        events: { ...pageOf(matched.total, events, matched.rows), user },
        requests: pageOf(totals.requests, requests, store.requestsPage(requests.limit, requests.offset)),
      };
    },
    async asset(file) {
      let body = assets.get(file);
      if (body === undefined) {
        body = await readFile(new URL(file, PAGE_DIR));
        assets.set(file, body);
      }
      return body;
    },
  };
}

export async function handleInspector(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  inspector: Inspector,
): Promise<void> {
  const { pathname } = url;
  const deps = inspector.deps;
  if (pathname === INSPECTOR_PREFIX) {
    res.writeHead(302, { location: `${INSPECTOR_PREFIX}/`, 'content-length': 0 });
    res.end();
    return;
  }
  const route = `${req.method} ${pathname.replace(/\/+$/, '') || '/'}`;
  const asset = ASSETS[route];
  if (asset !== undefined) {
    const body = await inspector.asset(asset.file);
    res.writeHead(200, { 'content-type': asset.type, 'content-length': body.length, ...ASSET_HEADERS });
    res.end(body);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const refused = refuseMutation(req, route);
    if (refused !== null) return sendJson(res, refused.status, errorBody(refused.error));
  }
  switch (route) {
    case 'GET /_emulator/view':
      try {
        return sendJson(res, 200, inspector.view(url.searchParams), { 'cache-control': 'no-store' });
      } catch (error) {
        if (error instanceof ViewQueryError) return sendJson(res, 400, errorBody(error));
        throw error;
      }
    case 'GET /_emulator/state':
      return sendJson(res, 200, deps.state());
    case 'POST /_emulator/reset':
      await readBody(req);
      deps.reset();
      return sendJson(res, 200, { ok: true });
    case 'GET /_emulator/faults':
      return sendJson(res, 200, { faults: deps.faults.list() });
    case 'DELETE /_emulator/faults':
      deps.faults.clear();
      return sendJson(res, 200, { faults: [] });
    case 'POST /_emulator/faults': {
      const raw = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendJson(res, 400, {
          ok: false,
          code: 'emulator_bad_faults',
          message: 'faults: the body must be JSON: {"faults": [...]}.',
        });
      }
      try {
        deps.faults.add(parseFaults(body));
      } catch (error) {
        if (error instanceof EmulatorError) return sendJson(res, 400, errorBody(error));
        throw error;
      }
      return sendJson(res, 200, { faults: deps.faults.list() });
    }
    default:
      return sendJson(res, 404, {
        status: 404,
        message:
          `No emulator route ${route}: open GET /_emulator/ in a browser, or use GET /_emulator/state, ` +
          'GET /_emulator/view, POST /_emulator/reset or /_emulator/faults.',
      });
  }
}

/**
 * Any web page can send a "simple" cross-site POST (text/plain or a form) to a known local port, so every change to
 * the emulator's state must carry `Content-Type: application/json` (which a browser only sends cross-site after a
 * preflight the emulator never grants) and, when the client says where it comes from (`Origin`, `Sec-Fetch-Site`),
 * come from the emulator's own origin: the inspector page's reset button does; curl and tests send no Origin.
 */
function refuseMutation(
  req: IncomingMessage,
  route: string,
): { status: number; error: EmulatorError } | null {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  const ownOrigin = `http://${req.headers.host ?? ''}`;
  if (
    (origin !== undefined && origin !== ownOrigin) ||
    (site !== undefined && site !== 'same-origin' && site !== 'none')
  ) {
    return {
      status: 403,
      error: new EmulatorError(
        'emulator_cross_origin',
        `${route}: refused a request from another origin (${origin ?? site}); only the inspector page itself, or a client that sends no Origin (curl, tests), may change the emulator.`,
      ),
    };
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    return {
      status: 415,
      error: new EmulatorError(
        'emulator_bad_content_type',
        `${route}: send Content-Type: application/json (got ${type ? `"${type}"` : 'none'}); requests that change the emulator must be JSON, so that no web page can send them.`,
      ),
    };
  }
  return null;
}

function pageOf<T>(total: number, at: PageParams, rows: T[]): ViewPage<T> {
  return { total, offset: at.offset, limit: at.limit, rows };
}

interface PageParams {
  offset: number;
  limit: number;
}

function pageParams(query: URLSearchParams, list: string): PageParams {
  return {
    offset: intParam(query, `${list}_offset`, 0, Number.MAX_SAFE_INTEGER, 0),
    limit: intParam(query, `${list}_limit`, 1, VIEW_MAX_LIMIT, VIEW_DEFAULT_LIMIT),
  };
}

function intParam(query: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ViewQueryError(`${name}: must be a whole number from ${min} to ${max}; got "${raw}".`);
  }
  return value;
}
