// Whole-process start-up of the CLI against `node -e ''` in the same run: `--version`, and `run` of an empty script
// with an account pointed at an emulator process, and with `--emulator` (the emulator embedded). Each case is one
// fresh process; wall time and the CPU it used (user + system, from this process's children totals). Target: each
// at most 2x `node -e ''`. Three floors, measured alongside: a process that starts an empty worker thread, one that
// runs an empty Lua chunk on wasmoon in its own thread, and one that does so in a worker thread, as the sandbox does
// (the worker is what lets a run that hangs inside a C function or a regex be stopped at its time limit): no `run`
// can start faster than the last, nor plain wasmoon start-up (no snapshot or compile cache) faster than the second.
// Run: npm run build && npm run bench:cli-startup
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interleave, report, showSpread, spread, startEmulatorProcess } from './support.js';

const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const TARGET = 2;
const TOKEN = 'bench-cli-startup-token';
const dir = mkdtempSync(join(tmpdir(), 'kosmo-bench-cli-'));
const script = join(dir, 'empty.lua');
writeFileSync(script, '');

/**
 * CPU milliseconds of this process's finished children so far (cutime + cstime of /proc/self/stat, in clock ticks
 * of 10 ms on Linux).
 */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

const emulator = await startEmulatorProcess(TOKEN);
const env = {
  PATH: process.env.PATH ?? '',
  HOME: dir,
  XDG_DATA_HOME: dir,
  XDG_CONFIG_HOME: dir,
  KOSMO_VERO_OUTBOX: join(dir, 'outbox.db'),
  VERO_AUTH_TOKEN: TOKEN,
  VERO_BASE_URL: emulator.url,
};
const EMPTY_WORKER = `const { Worker } = require('node:worker_threads');
new Worker("require('node:worker_threads').parentPort.postMessage(0)", { eval: true }).once('message', () => process.exit(0));`;
const LUA_IN_WORKER = [
  `const { LuaFactory } = require(${JSON.stringify(require.resolve('wasmoon'))});`,
  'new LuaFactory().createEngine().then((engine) => engine.doString(""))',
  '  .then(() => require("node:worker_threads").parentPort.postMessage(0));',
].join('\n');
// The same Lua start-up in the process's own thread: no sandbox worker at all (no hard stop for a run stuck in a C
// function or a regex), the floor of plain wasmoon start-up.
const LUA_IN_THREAD = [
  `const { LuaFactory } = require(${JSON.stringify(require.resolve('wasmoon'))});`,
  'new LuaFactory().createEngine().then((engine) => engine.doString(""));',
].join('\n');
const WASMOON_WORKER = `const { Worker } = require('node:worker_threads');
new Worker(${JSON.stringify(LUA_IN_WORKER)}, { eval: true }).once('message', () => process.exit(0));`;
const commands = {
  "node -e ''": ['-e', ''],
  'floor: node + empty worker': ['-e', EMPTY_WORKER],
  'floor: node + wasmoon Lua in-thread': ['-e', LUA_IN_THREAD],
  'floor: node + wasmoon Lua in a worker': ['-e', WASMOON_WORKER],
  'kosmo-vero --version': ['dist/cli/bin.js', '--version'],
  'kosmo-vero run empty.lua': ['dist/cli/bin.js', 'run', script],
  'kosmo-vero run empty.lua --emulator': ['dist/cli/bin.js', 'run', script, '--emulator'],
};
type Case = keyof typeof commands;
const cpu = Object.fromEntries(Object.keys(commands).map((name) => [name, [] as number[]])) as Record<
  Case,
  number[]
>;

/** Runs one process to its end; returns its wall time in ms and records its CPU. */
function measure(name: Case): () => Promise<number> {
  return () =>
    new Promise((resolve, reject) => {
      const cpuBefore = childrenCpuMs();
      const started = performance.now();
      const child = spawn(process.execPath, commands[name], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once('error', reject);
      child.once('close', (code) => {
        const wall = performance.now() - started;
        if (code !== 0) return reject(new Error(`${name} exited ${code}: ${stderr}`));
        cpu[name].push(childrenCpuMs() - cpuBefore);
        resolve(wall);
      });
    });
}

const names = Object.keys(commands) as Case[];
const result = await interleave<Case>(
  Object.fromEntries(names.map((name) => [name, measure(name)])) as Record<Case, () => Promise<number>>,
  { rounds: ROUNDS, warmup: 2, baseline: "node -e ''" },
);
emulator.stop();
rmSync(dir, { recursive: true, force: true });

// The warm-up runs recorded CPU too: only the measured rounds count.
const measuredCpu = (name: Case) => cpu[name].slice(-ROUNDS);
const baselineCpu = measuredCpu("node -e ''");
report(
  'cli-startup',
  names.map((name) => ({
    case: name,
    wall_ms: showSpread(result.cases[name], 0),
    wall_vs_node: showSpread(result.ratios[name]),
    cpu_ms: showSpread(spread(measuredCpu(name)), 0),
    cpu_vs_node: showSpread(spread(measuredCpu(name).map((ms, i) => ms / (baselineCpu[i] || 10)))),
    target: name.startsWith('floor') ? '' : `<= ${TARGET}x`,
  })),
  { rounds: ROUNDS, target: `each case <= ${TARGET}x node -e '' (wall, same-run ratio)` },
);
