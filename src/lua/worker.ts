/**
 * Sandbox worker: holds several runs, each on its own fresh Lua state, and executes one at a time. A host call made
 * where Lua can yield parks its run (the state waits, the thread serves other runs) until the pool posts the answer;
 * one made where Lua cannot yield (inside a C call such as a sort comparator) blocks in Atomics.wait until the main
 * thread stores the answer's arrival on the shared flag, the answer itself read synchronously from a MessagePort.
 * The main thread terminates this worker when a run outlives its time limit while executing.
 */
import { setFlagsFromString } from 'node:v8';
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { requirePackage } from '../require-package.js';
import { EngineHost, HOOK_EVERY, type LuaState, type LuaString, type Step } from './engine.js';
import { LIMIT_MARK, limitMessage, markLimit } from './limits.js';
import type {
  BridgeKind,
  CallAnswer,
  PoolMessage,
  RunOutcome,
  RunRequest,
  WorkerEvent,
  WorkerInit,
} from './protocol.js';
import { runRegex } from './regex.js';
import type { LuaLimitCode, LuaLimits, LuaRunError } from './types.js';

const FLUSH_EVERY_MS = 100;
/** After a memory limit hit, room to unwind (error messages, handlers) without failing again at once. */
const MEMORY_HEADROOM = 1024 * 1024;

interface Run {
  id: number;
  limits: LuaLimits;
  started: number;
  deadline: number;
  calls: number;
  instructions: number;
  outputBytes: number;
  pending: string[];
  lastFlush: number;
  limit: { code: LuaLimitCode; message: string } | null;
  /** host error message -> its code, to give an uncaught host error its code */
  hostErrors: Map<string, string>;
  closing: boolean;
  headroomGiven: boolean;
  state: LuaState;
  /** the host call this run is parked in, while it is */
  parkedCall: number | null;
  /** ends a parked run at its deadline */
  deadlineTimer?: NodeJS.Timeout;
}

const port = parentPort;
if (!port) throw new Error('src/lua/worker.ts must run as a worker thread');
const init = workerData as WorkerInit;
const flag = new Int32Array(init.signal);
const answers: MessagePort = init.answers;

/** the run executing now (the hook, the allocator and the bridge act for it) */
let run: Run | null = null;
/** every run this worker holds: executing, or parked in a host call */
const runs = new Map<number, Run>();
let callSeq = 0;
let poisoned = false;

function post(event: WorkerEvent): void {
  port?.postMessage(event);
}

function hit(code: LuaLimitCode, detail?: string): string {
  if (!run) return markLimit(code, code);
  if (!run.limit) run.limit = { code, message: limitMessage(code, run.limits, detail) };
  return markLimit(run.limit.code, run.limit.message);
}

function currentLimit(): string | null {
  return run?.limit ? markLimit(run.limit.code, run.limit.message) : null;
}

function flush(r: Run): void {
  if (r.pending.length === 0) return;
  post({ type: 'output', runId: r.id, lines: r.pending });
  r.pending = [];
  r.lastFlush = Date.now();
}

function bridge(
  kind: string,
  a?: string,
  b?: string,
  c?: string,
  payload?: LuaString,
  park?: string,
): [string, string] {
  const r = run;
  if (!r) return ['error', 'no run in progress'];
  if (r.limit) return ['limit', markLimit(r.limit.code, r.limit.message)];
  const display = `${a}.${b}`;
  if (kind === 'call') {
    if (r.calls >= r.limits.maxCalls) return ['limit', hit('lua_call_limit')];
    r.calls++;
    if ((payload?.bytes ?? 0) > r.limits.maxArgBytes) return ['limit', hit('lua_arg_too_large', display)];
  }
  const callId = ++callSeq;
  const parks = park === 'park';
  if (!parks) Atomics.store(flag, 0, 0);
  const lines = r.pending;
  r.pending = [];
  r.lastFlush = Date.now();
  post({
    type: 'call',
    runId: r.id,
    callId,
    kind: kind as BridgeKind,
    ...(kind === 'call' ? { integration: a, fn: b, account: c, args: payload?.text ?? '{}' } : { text: a }),
    lines,
    parks,
  });
  if (parks) {
    r.parkedCall = callId;
    return ['pending', ''];
  }
  for (;;) {
    const remaining = r.deadline - Date.now();
    if (remaining <= 0) return ['limit', hit('lua_timeout')];
    Atomics.wait(flag, 0, 0, remaining);
    if (Atomics.load(flag, 0) === 0) continue;
    let received = receiveMessageOnPort(answers);
    while (received && (received.message as CallAnswer).callId !== callId)
      received = receiveMessageOnPort(answers);
    if (!received) {
      // A flag without our answer (a stale store): wait again.
      Atomics.store(flag, 0, 0);
      continue;
    }
    return decodeAnswer(r, received.message as CallAnswer);
  }
}

function decodeAnswer(r: Run, answer: CallAnswer): [string, string] {
  if (answer.status === 'ok') return ['ok', answer.json];
  if (answer.status === 'limit') return ['limit', hit(answer.limit, answer.detail)];
  if (answer.code) r.hostErrors.set(answer.message, answer.code);
  return ['error', answer.message];
}

const { LuaFactory } = requirePackage('wasmoon') as typeof import('wasmoon');
// Only now, with this thread booted, and before the factory starts compiling: a V8 flag set earlier would void
// Node's code cache for this thread's start (src/lua/README.md, "Wasm tiers").
if (init.liftoffOnly) setFlagsFromString('--liftoff-only');
const factory = new LuaFactory();
const lua = await factory.getLuaModule();
const host = new EngineHost(lua, {
  call: bridge,
  print(line) {
    const r = run;
    if (!r) return null;
    if (r.limit) return markLimit(r.limit.code, r.limit.message);
    const size = line.bytes + 1;
    if (r.outputBytes + size > r.limits.outputBytes) return hit('lua_output_limit');
    r.outputBytes += size;
    r.pending.push(line.text);
    // The first line after a quiet spell goes out at once (so it survives if the worker is killed right after);
    // a burst of prints is batched and flushed by the hook or the next host call.
    if (r.pending.length === 1) {
      const now = Date.now();
      if (now - r.lastFlush > 10) flush(r);
    }
    return null;
  },
  // Runs here, in the worker: a pattern that backtracks for long only holds this worker, which the pool
  // terminates at the run's time limit.
  regex([op = '', subject = '', pattern = '', replacement, limit]) {
    if (!run) return ['error', 'no run in progress'];
    if (run.limit) return ['error', markLimit(run.limit.code, run.limit.message)];
    try {
      const value = runRegex(op, subject, pattern, replacement, limit === undefined ? -1 : Number(limit));
      return ['ok', JSON.stringify(value)];
    } catch (error) {
      return ['error', (error as Error).message];
    }
  },
  limit: currentLimit,
  hook() {
    const r = run;
    if (!r) return null;
    if (r.closing) return 'sandbox: run is over';
    if (r.limit) return markLimit(r.limit.code, r.limit.message);
    r.instructions += HOOK_EVERY;
    if (r.instructions > r.limits.instructionLimit) return hit('lua_instruction_limit');
    const now = Date.now();
    if (now > r.deadline) return hit('lua_timeout');
    if (now - r.lastFlush > FLUSH_EVERY_MS) flush(r);
    return null;
  },
  memoryRefused(memory) {
    const r = run;
    if (!r || r.closing || r.state.memory !== memory) return;
    hit('lua_memory_limit');
    if (!r.headroomGiven) {
      r.headroomGiven = true;
      memory.max = Math.max(memory.max, memory.used) + MEMORY_HEADROOM;
    }
  },
});

let prepared: LuaState | null = null;

function prepare(): void {
  if (prepared || poisoned) return;
  try {
    prepared = host.createState();
  } catch (error) {
    poisoned = true;
    throw error;
  }
}

const POSITION = /^script:(\d+): /;

/** Splits Lua's "script:N: " prefix off a message: the line goes apart, the text stays readable. */
function clean(text: string): { message: string; line?: number } {
  const match = POSITION.exec(text);
  if (!match) return { message: text };
  return { message: text.slice(match[0].length), line: Number(match[1]) };
}

function stripLimitMark(text: string): string {
  if (!text.startsWith(LIMIT_MARK)) return text;
  const end = text.indexOf('] ');
  return end === -1 ? text : text.slice(end + 2);
}

function scriptError(r: Run, text: string): LuaRunError {
  const { message, line } = clean(text);
  let bare = message;
  while (POSITION.test(bare)) bare = bare.replace(POSITION, '');
  const code = r.hostErrors.get(bare) ?? 'lua_runtime_error';
  return line === undefined ? { code, message } : { code, message, line };
}

/** Starts a run on the prepared state; it executes until it ends or parks in a host call. */
function start(request: RunRequest): void {
  const started = Date.now();
  let state: LuaState;
  try {
    if (!prepared) prepare();
    state = prepared as LuaState;
    prepared = null;
  } catch (error) {
    post({
      type: 'done',
      runId: request.runId,
      lines: [],
      outcome: {
        ok: false,
        error: { code: 'lua_internal_error', message: `sandbox failed: ${(error as Error).message}` },
        stats: { calls: 0, instructions: 0, peakMemoryBytes: 0, durationMs: 0 },
      },
      poisoned,
    });
    process.exit(1);
  }
  const r: Run = {
    id: request.runId,
    limits: request.limits,
    started,
    deadline: started + request.limits.timeoutMs,
    calls: 0,
    instructions: 0,
    outputBytes: 0,
    pending: [],
    lastFlush: 0,
    limit: null,
    hostErrors: new Map(),
    closing: false,
    headroomGiven: false,
    state,
    parkedCall: null,
  };
  runs.set(r.id, r);
  state.memory.max = r.limits.memoryBytes;
  step(r, () => {
    const installError = state.install(request.namespacesJson);
    if (installError !== null) throw new Error(`could not install namespaces: ${installError}`);
    return state.start(request.code);
  });
}

/** Executes one slice of a run (its start, or its resumption with an answer) and handles where it stopped. */
function step(r: Run, slice: () => Step): void {
  let outcome: Omit<RunOutcome, 'stats'>;
  run = r;
  try {
    const answer = slice();
    if (answer.kind === 'parked') {
      run = null;
      // Parked past its deadline, it is resumed with the time limit error (the pool also ends it, if this thread is
      // held up by another run).
      r.deadlineTimer = setTimeout(() => resolveParked(r, 'timeout'), r.deadline - Date.now());
      return;
    }
    outcome = conclude(r, answer);
  } catch (error) {
    // A JS exception out of wasm leaves the module in an unknown state: report, then let the pool replace us.
    poisoned = true;
    const limit = r.limit as Run['limit'];
    outcome = limit
      ? { ok: false, error: { code: limit.code, message: limit.message } }
      : {
          ok: false,
          error: { code: 'lua_internal_error', message: `sandbox failed: ${(error as Error).message}` },
        };
  }
  finish(r, outcome);
}

/** Resumes a parked run with its host call's answer, or with the time limit error once its deadline has passed. */
function resolveParked(r: Run, answer: CallAnswer | 'timeout'): void {
  if (r.parkedCall === null || runs.get(r.id) !== r) return;
  r.parkedCall = null;
  clearTimeout(r.deadlineTimer);
  step(r, () => {
    // The hook does not run while parked: the wall time spent waiting is checked here.
    const [status, text] =
      answer === 'timeout' || Date.now() > r.deadline
        ? ['limit', hit('lua_timeout')]
        : decodeAnswer(r, answer);
    return r.state.answer(status as string, text as string);
  });
}

function conclude(r: Run, answer: Exclude<Step, { kind: 'parked' }>): Omit<RunOutcome, 'stats'> {
  // Set behind TypeScript's back by the hook, the allocator and the bridge while the run executed.
  const limit = r.limit as Run['limit'];
  if (limit) return { ok: false, error: { code: limit.code, message: limit.message } };
  if (answer.kind === 'loadError') {
    const { message, line } = clean(answer.message);
    return {
      ok: false,
      error:
        line === undefined
          ? { code: 'lua_syntax_error', message }
          : { code: 'lua_syntax_error', message, line },
    };
  }
  if (answer.status !== 0) {
    return {
      ok: false,
      error: { code: 'lua_internal_error', message: `sandbox runner failed: ${answer.text}` },
    };
  }
  if (!answer.ok) {
    if (answer.resultKind === 'result')
      return { ok: false, error: { code: 'lua_result_invalid', message: answer.text } };
    return { ok: false, error: scriptError(r, stripLimitMark(answer.text)) };
  }
  if (Buffer.byteLength(answer.text) > r.limits.maxResultBytes) {
    return {
      ok: false,
      error: {
        code: 'lua_result_too_large',
        message: limitMessage('lua_result_too_large', r.limits, 'return value'),
      },
    };
  }
  return { ok: true, resultJson: answer.text };
}

/** Reports the run's outcome, then closes its state (see closeState) and readies a spare one. */
function finish(r: Run, outcome: Omit<RunOutcome, 'stats'>): void {
  r.closing = true;
  run = null;
  const stats = {
    calls: r.calls,
    instructions: r.instructions,
    peakMemoryBytes: r.state.memory.peak,
    durationMs: Date.now() - r.started,
  };
  post({ type: 'done', runId: r.id, lines: r.pending, outcome: { ...outcome, stats }, poisoned });
  if (poisoned) process.exit(1);
  closeState(r);
  if (poisoned) process.exit(1);
  try {
    prepare();
  } catch {
    process.exit(1);
  }
  post({ type: 'closed', runId: r.id, peakBytes: host.peakTotalBytes });
}

/**
 * Closing a state runs the script's __gc finalizers, which Lua runs with hooks off: a finalizer that loops forever
 * cannot be stopped from here. So the result goes out first, and the pool terminates this worker if 'ready' does
 * not follow soon after.
 */
function closeState(r: Run): void {
  runs.delete(r.id);
  clearTimeout(r.deadlineTimer);
  run = r;
  try {
    r.state.close();
  } catch {
    poisoned = true;
  }
  run = null;
}

port.on('message', (message: PoolMessage) => {
  switch (message.type) {
    case 'run':
      start(message);
      return;
    case 'answer': {
      const r = runs.get(message.runId);
      if (r && r.parkedCall === message.answer.callId) resolveParked(r, message.answer);
      return;
    }
    case 'cancel': {
      // The pool already reported this run (it outlived its time limit while this thread was busy).
      const r = runs.get(message.runId);
      if (r) resolveParked(r, 'timeout');
      return;
    }
  }
});

prepare();
post({ type: 'ready' });
