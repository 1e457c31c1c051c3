// Requests per second the emulator serves (`kosmo-vero emulator`, its own process) against a bare node:http server
// answering the same JSON (bench/bare-server.ts), same autocannon load (-c 32, fixed duration), interleaved rounds;
// then its memory: RSS while a fresh emulator takes MEMORY_REQUESTS writes to a bounded set of profiles, so the
// state stops growing and only the request log could keep growing (it is capped: maxRequests, default 10 000).
// Run: npm run build && npm run bench:emulator
import autocannon from 'autocannon';
import {
  cpuMs,
  interleave,
  report,
  rssMiB,
  type ServerProcess,
  showSpread,
  spread,
  startEmulatorProcess,
  startServerProcess,
} from './support.js';

const SECONDS = Number(process.env.SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CONNECTIONS = 32;
const MEMORY_REQUESTS = Number(process.env.MEMORY_REQUESTS ?? 150_000);
const PROFILES = 1000;
const TOKEN = 'bench-token-0123456789';

let sent = 0;
/** Each request a distinct write, as an agent sends them: the emulator applies every one (none is a duplicate). */
const eventRequest = (request: autocannon.Request): autocannon.Request => {
  sent += 1;
  return {
    ...request,
    body: JSON.stringify({
      auth_token: TOKEN,
      identity: { id: `usr_${sent % PROFILES}` },
      event_name: 'Bench',
      data: { i: sent },
    }),
  };
};
const identifyRequest = (request: autocannon.Request): autocannon.Request => {
  sent += 1;
  return {
    ...request,
    body: JSON.stringify({ auth_token: TOKEN, id: `usr_${sent % PROFILES}`, data: { i: sent } }),
  };
};

/** CPU µs the server process spent per request, each run: unlike req/s, barely moved by what else the machine runs. */
const cpuPerRequest = new Map<ServerProcess, number[]>();

/** One autocannon run; its rate in requests per second. Anything but a 2xx answer fails the benchmark. */
async function load(
  server: ServerProcess,
  path: string,
  setupRequest: (r: autocannon.Request) => autocannon.Request,
  amount?: number,
): Promise<number> {
  const pid = server.child.pid as number;
  const cpuBefore = cpuMs(pid);
  const result = await autocannon({
    url: server.origin,
    connections: CONNECTIONS,
    ...(amount === undefined ? { duration: SECONDS } : { amount }),
    requests: [
      {
        method: 'POST',
        path: `/api/v2${path}`,
        headers: { 'content-type': 'application/json' },
        setupRequest,
      },
    ],
  });
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${server.url}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
  }
  const perRequest = ((cpuMs(pid) - cpuBefore) * 1000) / result.requests.total;
  cpuPerRequest.set(server, [...(cpuPerRequest.get(server) ?? []), perRequest]);
  return result.requests.total / result.duration;
}

const bare = await startServerProcess(['--import', 'tsx', 'bench/bare-server.ts']);
const emulator = await startEmulatorProcess(TOKEN);
const rssStart = rssMiB(emulator.child.pid as number);
const rates = await interleave(
  {
    bare: () => load(bare, '/events/track', eventRequest),
    emulator: () => load(emulator, '/events/track', eventRequest),
  },
  { rounds: ROUNDS, warmup: 1, baseline: 'bare' },
);
const throughputRequests = sent;
// Same runs, warm-up left out (interleave runs each case once first).
const cpuOf = (server: ServerProcess) => spread((cpuPerRequest.get(server) ?? []).slice(1));
const cpu = { bare: cpuOf(bare), emulator: cpuOf(emulator) };
const rssEnd = rssMiB(emulator.child.pid as number);
bare.stop();
emulator.stop();

// Memory: a fresh emulator, MEMORY_REQUESTS identify calls over PROFILES profiles, RSS after each quarter.
const fresh = await startEmulatorProcess(TOKEN);
const pid = fresh.child.pid as number;
const rss: number[] = [rssMiB(pid)];
for (let quarter = 0; quarter < 4; quarter++) {
  await load(fresh, '/users/track', identifyRequest, MEMORY_REQUESTS / 4);
  rss.push(rssMiB(pid));
}
const state = (await (await fetch(`${fresh.origin}/_emulator/state`)).json()) as {
  users: unknown[];
  requests: unknown[];
  requestsDropped: number;
};
fresh.stop();

const ratio = rates.ratios.emulator;
report(
  'emulator',
  [
    {
      measure: `bare node:http, -c ${CONNECTIONS} (req/s)`,
      value: showSpread(rates.cases.bare, 0),
      target: '',
    },
    { measure: 'emulator, same load (req/s)', value: showSpread(rates.cases.emulator, 0), target: '' },
    { measure: 'emulator / bare, per round', value: showSpread(ratio), target: '>= 0.6' },
    { measure: 'bare: CPU per request (µs)', value: showSpread(cpu.bare, 1), target: '' },
    { measure: 'emulator: CPU per request (µs)', value: showSpread(cpu.emulator, 1), target: '' },
    {
      measure: 'CPU per request, bare / emulator (medians)',
      value: (cpu.bare.median / cpu.emulator.median).toFixed(2),
      target: 'as the req/s ratio, without the load',
    },
    {
      measure: `emulator RSS before/after ${throughputRequests} events (MiB)`,
      value: `${rssStart.toFixed(0)} -> ${rssEnd.toFixed(0)}`,
      target: 'events are state: grows',
    },
    {
      measure: `RSS at 0, 1/4 .. ${MEMORY_REQUESTS} identify calls, ${PROFILES} profiles (MiB)`,
      value: rss.map((v) => v.toFixed(0)).join(' '),
      target: 'flat once the log is full',
    },
    {
      measure: 'request log kept / dropped, users',
      value: `${state.requests.length} / ${state.requestsDropped}, ${state.users.length}`,
      target: '10000 kept',
    },
  ],
  {
    seconds: SECONDS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    memoryRequests: MEMORY_REQUESTS,
    rates,
    cpuPerRequestUs: cpu,
    rssStart,
    rssEnd,
    rss,
  },
);
