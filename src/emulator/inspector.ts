/** The /_emulator/ routes: state, reset and fault scripting for tests and people. Not part of Vero. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatorError } from './errors.js';
import { type FaultQueue, parseFaults } from './faults.js';
import { readBody, sendHtml, sendJson } from './http.js';
import type { EmulatorState } from './types.js';

export const INSPECTOR_PREFIX = '/_emulator';

export interface InspectorDeps {
  state(): EmulatorState;
  reset(): void;
  faults: FaultQueue;
}

export async function handleInspector(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  deps: InspectorDeps,
): Promise<void> {
  if (pathname === INSPECTOR_PREFIX) {
    res.writeHead(302, { location: `${INSPECTOR_PREFIX}/`, 'content-length': 0 });
    res.end();
    return;
  }
  const route = `${req.method} ${pathname.replace(/\/+$/, '') || '/'}`;
  switch (route) {
    case 'GET /_emulator':
      return sendHtml(res, PAGE);
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
          message: 'faults: the body must be JSON: {"faults": [...]}.',
        });
      }
      try {
        deps.faults.add(parseFaults(body));
      } catch (error) {
        if (error instanceof EmulatorError) return sendJson(res, 400, { ok: false, message: error.message });
        throw error;
      }
      return sendJson(res, 200, { faults: deps.faults.list() });
    }
    default:
      return sendJson(res, 404, {
        status: 404,
        message: `No emulator route ${route}: use GET /_emulator/state, POST /_emulator/reset or /_emulator/faults.`,
      });
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>kosmo-vero emulator</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
</head>
<body>
<h1>kosmo-vero emulator</h1>
<p>A local Vero Track API. State as JSON: <a href="state">state</a>. Scripted faults: <a href="faults">faults</a>.</p>
<pre id="state">loading…</pre>
<script>
fetch('state').then((r) => r.json()).then((s) => {
  document.getElementById('state').textContent = JSON.stringify(s, null, 2);
});
</script>
</body>
</html>
`;
