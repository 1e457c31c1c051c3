// One MCP tool call over `kosmo-vero serve` (Streamable HTTP, a new server and transport per request, bearer token)
// against the same call over `kosmo-vero mcp` (stdio), same run, same emulator: what the stateless HTTP front door
// costs per call. Target: an HTTP call at most 2x a stdio call (both include the Vero request to the emulator). A
// third case sends the same requests with a bare node:http client, to tell the server's share from the SDK client's.
// Run: npm run build && npm run bench:serve
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { createRuntime } from '../src/index.js';
import { createMcpServer } from '../src/mcp/server.js';
import { toolSpecs } from '../src/tools/index.js';
import { interleave, report, showSpread, startEmulatorProcess } from './support.js';

const CALLS = Number(process.env.CALLS ?? 100);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const TOKEN = 'bench-token-0123456789';
const CLIENT_TOKEN = 'bench-client-token-0123456789abcdef';
const TARGET = 2;

const emulator = await startEmulatorProcess(TOKEN);
const home = mkdtempSync(`${tmpdir()}/kosmo-bench-serve-`);
const env = {
  PATH: process.env.PATH ?? '',
  HOME: home,
  XDG_DATA_HOME: home,
  VERO_AUTH_TOKEN: TOKEN,
  VERO_BASE_URL: emulator.url,
  KOSMO_VERO_SERVE_TOKENS: CLIENT_TOKEN,
};

const serve = spawn(process.execPath, ['dist/cli/bin.js', 'serve', '--port', '0', '--quiet'], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.once('exit', () => serve.kill('SIGTERM'));
const url = await new Promise<string>((resolve, reject) => {
  createInterface({ input: serve.stdout }).once('line', resolve);
  serve.once('exit', (code) => reject(new Error(`serve exited (${code}); run npm run build first`)));
});

const http = new Client({ name: 'bench', version: '1' });
await http.connect(
  new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } },
  }),
);
const stdio = new Client({ name: 'bench', version: '1' });
await stdio.connect(
  new StdioClientTransport({ command: process.execPath, args: ['dist/cli/bin.js', 'mcp', '--quiet'], env }),
);

// The same request without the SDK's client (node:http, keep-alive, the SSE answer read as text): what the server
// side costs, apart from the client's fetch and event-stream parsing.
const agent = new Agent({ keepAlive: true });
const { hostname, port } = new URL(url);
const rawPost = (body: string) =>
  new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path: '/mcp',
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${CLIENT_TOKEN}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(text))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

let sequence = 0;
const trackArgs = (i: number) => ({
  identity: `usr_${i % 50}`,
  event_name: 'Bench',
  data: { n: sequence++ },
});

const raw = async () => {
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const answer = await rawPost(
      JSON.stringify({
        jsonrpc: '2.0',
        id: i,
        method: 'tools/call',
        params: { name: 'vero_track_event', arguments: trackArgs(i) },
      }),
    );
    if (answer.includes('"isError":true')) throw new Error(answer);
  }
  return (performance.now() - started) / CALLS;
};

/** `CALLS` sequential track_event calls; the mean ms per call. */
const calls = (client: Client) => async () => {
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const result = await client.callTool({
      name: 'vero_track_event',
      arguments: trackArgs(i),
    });
    if (result.isError) throw new Error(JSON.stringify(result));
  }
  return (performance.now() - started) / CALLS;
};

const { cases, ratios } = await interleave<'stdio' | 'http' | 'raw'>(
  { stdio: calls(stdio), http: calls(http), raw },
  { rounds: ROUNDS, warmup: 1, baseline: 'stdio' },
);
await http.close();
await stdio.close();
serve.kill('SIGTERM');
emulator.stop();

// What serve builds per request, in this process: the MCP server, and the two parts now built once (an Ajv
// validator per server before it was shared; the tool specs before they were memoized per function list).
const runtime = createRuntime({ env: { VERO_AUTH_TOKEN: TOKEN } });
const BUILDS = 200;
const perBuild = (build: () => unknown) => async () => {
  const started = performance.now();
  for (let i = 0; i < BUILDS; i++) build();
  return (performance.now() - started) / BUILDS;
};
const builds = await interleave<'server' | 'validator' | 'specs'>(
  {
    server: perBuild(() => createMcpServer(runtime)),
    validator: perBuild(() => new AjvJsonSchemaValidator()),
    // A fresh copy of the function list misses the memo: what building the specs costs.
    specs: perBuild(() => toolSpecs([...runtime.functions()])),
  },
  { rounds: ROUNDS, baseline: 'server' },
);
await runtime.close();
rmSync(home, { recursive: true, force: true });

report(
  'serve',
  [
    { case: 'mcp over stdio (baseline)', 'ms per call': showSpread(cases.stdio), 'x stdio': '1.00' },
    {
      case: 'serve over HTTP',
      'ms per call': showSpread(cases.http),
      'x stdio': showSpread(ratios.http),
    },
    {
      case: 'serve over HTTP, bare node:http client',
      'ms per call': showSpread(cases.raw),
      'x stdio': showSpread(ratios.raw),
    },
    {
      case: 'per request: build the MCP server',
      'ms per call': showSpread(builds.cases.server, 3),
      'x stdio': '',
    },
    {
      case: 'saved: an Ajv validator per server',
      'ms per call': showSpread(builds.cases.validator, 3),
      'x stdio': '',
    },
    {
      case: 'saved: tool specs per request',
      'ms per call': showSpread(builds.cases.specs, 3),
      'x stdio': '',
    },
  ],
  {
    calls: CALLS,
    rounds: ROUNDS,
    target: `http <= ${TARGET}x stdio`,
    cases,
    ratios,
    builds: builds.cases,
  },
);
console.log(
  `\nHTTP / stdio per call: ${ratios.http.median.toFixed(2)}x (target <= ${TARGET}x): ${ratios.http.median <= TARGET ? 'met' : 'NOT met'}`,
);
