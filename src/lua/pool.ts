/**
 * LuaPool: sandbox workers that grow with demand and shrink when idle. Each run gets a fresh Lua state in a worker.
 * A script waiting on a host call (Vero, docs) parks: its state stays in the worker, which runs other scripts
 * meanwhile, so N scripts waiting on the network need neither N workers nor N threads' memory (a worker costs about
 * 15 MiB, a parked state under 1 MiB: src/lua/README.md). Workers are added, up to maxWorkers, when no worker is
 * free to start a script (every worker is executing Lua); a worker is shared by parked scripts only once no more
 * can be added, because a run that outlives its time limit while executing (a Lua pattern that backtracks for
 * minutes ignores every hook) can only be stopped by terminating its worker, and the scripts parked on it go too.
 * A worker whose Lua states held more than recycleAboveBytes at once (a big script: the wasm memory it touched is
 * never given back) is replaced once its runs end; one idle for idleMs is stopped, down to one.
 */
import { Buffer } from 'node:buffer';
import { availableParallelism, totalmem } from 'node:os';
import { MessageChannel, type MessagePort, type ResourceLimits, Worker } from 'node:worker_threads';
import { LuaPoolClosedError, LuaRequestError, LuaWorkerStartError } from './errors.js';
import { limitMessage, resolveLimits } from './limits.js';
import type { CallAnswer, PoolMessage, RunRequest, WorkerEvent, WorkerInit } from './protocol.js';
import type { LuaHost, LuaLimits, LuaNamespace, LuaPoolOptions, LuaRunError, LuaRunResult } from './types.js';

/** Past timeoutMs, how long the worker gets to stop a run by itself before the pool steps in. */
const KILL_GRACE_MS = 500;
/** After a run's result, how long the worker may take to close its state before it is replaced. */
const CLOSE_GRACE_MS = 1000;
/**
 * Workers that die before ever becoming ready, in a row, before the pool stops starting new ones and fails the
 * queued runs; the next run() starts a fresh set.
 */
const MAX_START_FAILURES = 3;
const MiB = 1024 * 1024;
const DEFAULT_RUNS_PER_WORKER = 32;
const DEFAULT_IDLE_MS = 60_000;
/** Typical scripts hold well under 1 MiB each; a worker whose scripts held more than this at once is replaced. */
const DEFAULT_RECYCLE_ABOVE_BYTES = 16 * MiB;

/**
 * One worker per core executes Lua as fast as the machine can (waiting scripts park and need no worker), at least
 * two so that one script hung in a pattern never holds every worker; and no more than one per 512 MiB of memory, a
 * worker's share if its scripts approach their memory limits (64 MiB each by default).
 */
export function defaultMaxWorkers(): number {
  return Math.max(2, Math.min(availableParallelism(), Math.floor(totalmem() / (512 * MiB))));
}

/**
 * The V8 heap of a worker holds what crosses to and from Lua as JS strings: call arguments and results, output,
 * regex subjects; the Lua state itself lives in the wasm heap, outside it. Sized from those limits so that a
 * script's strings fit with room for copies, and capped so one worker cannot take the host's memory.
 */
export function workerResourceLimits(limits: LuaLimits): ResourceLimits {
  const strings = limits.maxResultBytes + limits.maxArgBytes + limits.outputBytes;
  // The base is generous on purpose: a heap kept near its cap starts incremental marking often, and twice in test runs
  // with a 32 MiB base, on Node 20, a worker torn down while V8's background compiler started such marking aborted
  // the whole process (node_platform.cc ForIsolate: "Assertion failed: (data.first) != nullptr").
  return { maxOldGenerationSizeMb: 128 + Math.ceil((4 * strings) / MiB) };
}

/**
 * Built code runs worker.js. From TypeScript sources (tests, tsx) Node 20 does not carry tsx's loader into worker
 * threads, so a small bootstrap registers it there first.
 */
function workerUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./worker.js', import.meta.url);
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const source = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

const WORKER_URL = workerUrl();

interface Job {
  runId: number;
  code: string;
  host: LuaHost;
  limits: LuaLimits;
  namespacesJson: string;
  output: string[];
  finished: boolean;
  killTimer?: NodeJS.Timeout;
  resolve(result: LuaRunResult): void;
  reject(error: Error): void;
}

/** A run as its worker holds it, from the start request until the worker has closed its state. */
interface Held {
  job: Job;
  /** in a host call the host has not answered yet, not executing */
  parked: boolean;
  /** reported; the worker is closing its state */
  closing: boolean;
  closeTimer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  flag: Int32Array;
  answers: MessagePort;
  ready: boolean;
  everReady: boolean;
  dead: boolean;
  /** takes no new run; stopped once its runs are closed */
  retiring: boolean;
  runs: Map<number, Held>;
  /** clock time its last run closed (or it became ready) */
  idleSince: number;
  lastError?: Error;
  /** why the pool terminated it, for the runs that go with it */
  stopReason?: string;
}

function message(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function namespacesJson(namespaces: unknown): string {
  if (!Array.isArray(namespaces))
    throw new LuaRequestError('host.namespaces must be an array of LuaNamespace');
  const clean: LuaNamespace[] = namespaces.map((ns: Partial<LuaNamespace>, i) => {
    const where = `host.namespaces[${i}]`;
    if (typeof ns?.integration !== 'string' || ns.integration === '') {
      throw new LuaRequestError(`${where}.integration must be a non-empty string`);
    }
    const strings = (value: unknown, field: string): string[] => {
      if (value === undefined) return [];
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        throw new LuaRequestError(`${where}.${field} must be an array of strings`);
      }
      return value as string[];
    };
    const aliases = ns.aliases ?? {};
    for (const [alias, target] of Object.entries(aliases)) {
      if (typeof target !== 'string') throw new LuaRequestError(`${where}.aliases.${alias} must be a string`);
    }
    const parameters: Record<string, string[]> = {};
    for (const [fn, names] of Object.entries(ns.parameters ?? {})) {
      parameters[fn] = strings(names, `parameters.${fn}`);
    }
    return {
      integration: ns.integration,
      functions: strings(ns.functions, 'functions'),
      aliases,
      accounts: strings(ns.accounts, 'accounts'),
      parameters,
      addAccount: typeof ns.addAccount === 'string' ? ns.addAccount : undefined,
    };
  });
  return JSON.stringify(clean);
}

export class LuaPool {
  private readonly maxWorkers: number;
  private readonly runsPerWorker: number;
  private readonly idleMs: number;
  private readonly recycleAboveBytes: number;
  private readonly now: () => number;
  /** Every run's limits unless the run sets its own. */
  readonly limits: LuaLimits;
  private readonly resourceLimits: ResourceLimits;
  private readonly liftoffOnly: boolean;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly trimTimer: NodeJS.Timeout;
  private runSeq = 0;
  private started = 0;
  private closed = false;
  private startFailures = 0;
  /** Set when workers kept failing to start: nothing is respawned until the next run() asks for workers. */
  private stalled = false;

  constructor(options: LuaPoolOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.maxWorkers = positive('maxWorkers', options.maxWorkers, defaultMaxWorkers());
    this.runsPerWorker = positive('runsPerWorker', options.runsPerWorker, DEFAULT_RUNS_PER_WORKER);
    this.idleMs = positive('idleMs', options.idleMs, DEFAULT_IDLE_MS);
    this.recycleAboveBytes = positive(
      'recycleAboveBytes',
      options.recycleAboveBytes,
      DEFAULT_RECYCLE_ABOVE_BYTES,
    );
    this.now = options.now ?? Date.now;
    this.resourceLimits = options.resourceLimits ?? workerResourceLimits(this.limits);
    this.liftoffOnly = optionalBoolean('liftoffOnly', options.liftoffOnly);
    this.trimTimer = setInterval(() => this.trimIdle(), this.idleMs);
    this.trimTimer.unref();
    // One worker up front, so the first script need not wait for it; more only when scripts need them.
    this.slots.push(this.spawn());
  }

  /** Runs code on a fresh Lua state. Resolves with the outcome (a script error is ok=false, not a rejection). */
  run(code: string, host: LuaHost, options?: Partial<LuaLimits>): Promise<LuaRunResult> {
    if (this.closed) return Promise.reject(new LuaPoolClosedError());
    if (typeof code !== 'string') return Promise.reject(new LuaRequestError('code must be a string of Lua'));
    let job: Job;
    try {
      const limits = resolveLimits(this.limits, options);
      const json = namespacesJson(host?.namespaces);
      return new Promise<LuaRunResult>((resolve, reject) => {
        job = {
          runId: ++this.runSeq,
          code,
          host,
          limits,
          namespacesJson: json,
          output: [],
          finished: false,
          resolve,
          reject,
        };
        this.queue.push(job);
        if (this.stalled) {
          // Workers gave up starting earlier; this run is worth one more attempt.
          this.stalled = false;
          this.startFailures = 0;
        }
        this.dispatch();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * What the pool holds now: workers (ready or starting), runs executing, runs parked in host calls, runs queued;
   * and how many workers it has started since it was made.
   */
  status(): {
    workers: number;
    starting: number;
    executing: number;
    parked: number;
    queued: number;
    started: number;
  } {
    let starting = 0;
    let executing = 0;
    let parked = 0;
    for (const slot of this.live()) {
      if (!slot.ready) starting++;
      for (const held of slot.runs.values()) {
        if (held.parked) parked++;
        else executing++;
      }
    }
    return {
      workers: this.live().length,
      starting,
      executing,
      parked,
      queued: this.queue.length,
      started: this.started,
    };
  }

  /** Stops workers that have held no run for idleMs (by the pool's clock), keeping one. Also runs on a timer. */
  trimIdle(): void {
    const now = this.now();
    for (const slot of this.live()) {
      if (this.live().length <= 1) break;
      if (slot.ready && slot.runs.size === 0 && now - slot.idleSince >= this.idleMs) this.retire(slot);
    }
  }

  /** Terminates every worker; queued and running scripts reject with LuaPoolClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.trimTimer);
    for (const job of this.queue.splice(0)) job.reject(new LuaPoolClosedError());
    const exits: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      for (const held of slot.runs.values()) {
        clearTimeout(held.closeTimer);
        const job = held.job;
        if (job.finished) continue;
        job.finished = true;
        clearTimeout(job.killTimer);
        job.reject(new LuaPoolClosedError());
      }
      slot.runs.clear();
      slot.dead = true;
      slot.answers.close();
      exits.push(slot.worker.terminate());
    }
    this.slots.length = 0;
    await Promise.all(exits);
  }

  private live(): Slot[] {
    return this.slots.filter((s) => !s.dead);
  }

  private spawn(): Slot {
    this.started++;
    const signal = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { signal, answers: port2, liftoffOnly: this.liftoffOnly };
    const worker = new Worker(WORKER_URL, {
      workerData: init,
      transferList: [port2],
      // Nothing from this process's environment (credentials included) is visible in the worker.
      env: {},
      resourceLimits: this.resourceLimits,
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const slot: Slot = {
      worker,
      flag: new Int32Array(signal),
      answers: port1,
      ready: false,
      everReady: false,
      dead: false,
      retiring: false,
      runs: new Map(),
      idleSince: this.now(),
    };
    worker.on('message', (event: WorkerEvent) => this.onEvent(slot, event));
    worker.on('error', (error) => {
      slot.lastError = error;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  /** Ready for another run: not executing Lua (every run it holds is parked) and not full. */
  private free(slot: Slot): boolean {
    if (!slot.ready || slot.dead || slot.retiring || slot.runs.size >= this.runsPerWorker) return false;
    for (const held of slot.runs.values()) if (!held.parked) return false;
    return true;
  }

  /**
   * An empty worker if there is one. A worker is shared by parked scripts only when no empty one can be had soon
   * (none starting, none just closing its last states, no room to start one): a script hung past its time limit
   * takes its worker's runs along.
   */
  private pick(): Slot | undefined {
    const live = this.live();
    const open = live.filter((s) => this.free(s));
    const empty = open.find((s) => s.runs.size === 0);
    if (empty) return empty;
    if (live.length < this.maxWorkers || live.some((s) => !s.ready || this.closingOnly(s))) return undefined;
    return open.sort((a, b) => a.runs.size - b.runs.size)[0];
  }

  private closingOnly(slot: Slot): boolean {
    for (const held of slot.runs.values()) if (!held.closing) return false;
    return slot.runs.size > 0;
  }

  private dispatch(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      const slot = this.pick();
      if (!slot) break;
      this.start(slot, this.queue.shift() as Job);
    }
    // Grow: a new worker for each waiting run that no starting worker will take, up to maxWorkers.
    const starting = this.live().filter((s) => !s.ready).length;
    for (let wanted = this.queue.length - starting; wanted > 0 && !this.stalled; wanted--) {
      if (this.live().length >= this.maxWorkers) break;
      this.slots.push(this.spawn());
    }
    this.updateRefs();
  }

  /** Workers keep the process alive only while there is work: a run in progress or waiting for a worker. */
  private updateRefs(): void {
    const waiting = this.queue.length > 0;
    for (const slot of this.slots) {
      if (slot.runs.size > 0 || waiting) slot.worker.ref();
      else slot.worker.unref();
    }
  }

  private start(slot: Slot, job: Job): void {
    slot.runs.set(job.runId, { job, parked: false, closing: false });
    const request: RunRequest = {
      type: 'run',
      runId: job.runId,
      code: job.code,
      limits: job.limits,
      namespacesJson: job.namespacesJson,
    };
    slot.worker.postMessage(request);
    job.killTimer = setTimeout(() => this.overtime(slot, job), job.limits.timeoutMs + KILL_GRACE_MS);
  }

  private finish(job: Job, result: Omit<LuaRunResult, 'output'>, lines: string[] = []): void {
    if (job.finished) return;
    job.finished = true;
    clearTimeout(job.killTimer);
    const output = lines.length > 0 ? job.output.concat(lines) : job.output;
    job.resolve({ ...result, output });
  }

  private failure(error: LuaRunError): Omit<LuaRunResult, 'output'> {
    return {
      ok: false,
      result: null,
      error,
      stats: { calls: 0, instructions: 0, peakMemoryBytes: 0, durationMs: 0 },
    };
  }

  /**
   * The run outlived its time limit and its worker did not end it. Parked, the worker's thread is busy with another
   * run: the result is given now and the worker drops the run when it can. Executing, it does not stop by itself:
   * the worker is terminated, with the runs parked on it.
   */
  private overtime(slot: Slot, job: Job): void {
    const held = slot.runs.get(job.runId);
    if (job.finished || !held) return;
    this.finish(job, this.failure({ code: 'lua_timeout', message: limitMessage('lua_timeout', job.limits) }));
    if (held.parked) {
      const cancel: PoolMessage = { type: 'cancel', runId: job.runId };
      slot.worker.postMessage(cancel);
      return;
    }
    slot.stopReason = 'another script in the same sandbox worker ran past its time limit and was stopped';
    this.stop(slot);
  }

  private stop(slot: Slot): void {
    slot.dead = true;
    void slot.worker.terminate();
  }

  /** No new runs; terminated once empty. The pool starts a fresh worker when it needs one. */
  private retire(slot: Slot): void {
    slot.retiring = true;
    if (slot.runs.size === 0) this.stop(slot);
  }

  private onEvent(slot: Slot, event: WorkerEvent): void {
    switch (event.type) {
      case 'ready':
        slot.ready = true;
        slot.everReady = true;
        slot.idleSince = this.now();
        this.startFailures = 0;
        this.dispatch();
        return;
      case 'output': {
        const job = slot.runs.get(event.runId)?.job;
        if (job && !job.finished) job.output.push(...event.lines);
        return;
      }
      case 'call': {
        const held = slot.runs.get(event.runId);
        if (!held || held.job.finished) return;
        if (event.lines.length > 0) held.job.output.push(...event.lines);
        if (event.parks) {
          held.parked = true;
          this.dispatch();
        }
        void this.answer(slot, held, event);
        return;
      }
      case 'done': {
        if (event.poisoned) slot.retiring = true;
        const held = slot.runs.get(event.runId);
        if (!held) return;
        held.parked = false;
        held.closing = true;
        // Closing runs the script's __gc finalizers with hooks off: one that never returns costs the worker.
        held.closeTimer = setTimeout(() => {
          slot.stopReason = 'a script in the same sandbox worker did not let its state close';
          this.stop(slot);
        }, CLOSE_GRACE_MS);
        held.closeTimer.unref();
        const { outcome } = event;
        const result: Omit<LuaRunResult, 'output'> = {
          ok: outcome.ok,
          result: outcome.resultJson === undefined ? null : JSON.parse(outcome.resultJson),
          stats: outcome.stats,
        };
        if (outcome.error) result.error = outcome.error;
        this.finish(held.job, result, event.lines);
        return;
      }
      case 'closed': {
        const held = slot.runs.get(event.runId);
        clearTimeout(held?.closeTimer);
        slot.runs.delete(event.runId);
        if (event.peakBytes > this.recycleAboveBytes) slot.retiring = true;
        if (slot.runs.size === 0) {
          slot.idleSince = this.now();
          if (slot.retiring) this.stop(slot);
        }
        this.dispatch();
        return;
      }
    }
  }

  private async answer(slot: Slot, held: Held, event: Extract<WorkerEvent, { type: 'call' }>): Promise<void> {
    const { job } = held;
    const callId = event.callId;
    let answer: CallAnswer;
    try {
      let value: unknown;
      switch (event.kind) {
        case 'call':
          value = await job.host.call({
            integration: event.integration ?? '',
            fn: event.fn ?? '',
            account: event.account,
            args: JSON.parse(event.args ?? '{}'),
          });
          break;
        case 'read_doc':
          value = await job.host.readDoc(event.text ?? '');
          break;
        case 'list_docs':
          value = await job.host.listDocs();
          break;
        case 'search_docs':
          value = await job.host.searchDocs(event.text ?? '');
          break;
      }
      answer = this.encodeValue(callId, job, event, value);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      answer = { callId, status: 'error', message: message(error) };
      if (typeof code === 'string') answer.code = code;
    }
    if (job.finished || slot.runs.get(job.runId) !== held || slot.dead) return;
    if (event.parks) {
      held.parked = false;
      const resume: PoolMessage = { type: 'answer', runId: job.runId, answer };
      slot.worker.postMessage(resume);
      return;
    }
    slot.answers.postMessage(answer);
    Atomics.store(slot.flag, 0, 1);
    Atomics.notify(slot.flag, 0);
  }

  private encodeValue(
    callId: number,
    job: Job,
    event: Extract<WorkerEvent, { type: 'call' }>,
    value: unknown,
  ): CallAnswer {
    const what = event.kind === 'call' ? `${event.integration}.${event.fn}` : `lua_${event.kind}`;
    let json: string | undefined;
    try {
      json = JSON.stringify(value === undefined ? null : value);
    } catch (error) {
      return {
        callId,
        status: 'error',
        message: `${what}: the host returned a value JSON cannot carry: ${message(error)}`,
      };
    }
    if (json === undefined) json = 'null';
    const max = job.limits.maxResultBytes;
    if (json.length > max / 3 && Buffer.byteLength(json) > max) {
      return { callId, status: 'limit', limit: 'lua_result_too_large', detail: what };
    }
    return { callId, status: 'ok', json };
  }

  private onExit(slot: Slot, code: number): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return; // closed
    this.slots.splice(index, 1);
    const neverReady = !slot.everReady;
    const detail = slot.stopReason
      ? `: ${slot.stopReason}`
      : slot.lastError
        ? `: ${slot.lastError.message}`
        : ` (exit code ${code})`;
    for (const held of slot.runs.values()) {
      clearTimeout(held.closeTimer);
      this.finish(
        held.job,
        this.failure({ code: 'lua_internal_error', message: `sandbox worker stopped${detail}` }),
      );
    }
    slot.runs.clear();
    if (this.closed) return;
    if (neverReady) this.startFailures++;
    if (this.startFailures >= MAX_START_FAILURES && !this.stalled) {
      // Respawning now would fail the same way, forever, in a long-lived server: stop until the next run().
      this.stalled = true;
      const error = new LuaWorkerStartError(
        this.startFailures,
        slot.lastError ? slot.lastError.message : `exit code ${code}`,
      );
      for (const job of this.queue.splice(0)) job.reject(error);
    }
    // Keep one worker ready (a fresh one: a replaced or recycled worker's memory is returned with it).
    if (!this.stalled && this.live().length === 0) this.slots.push(this.spawn());
    this.dispatch();
  }
}

function optionalBoolean(name: string, value: boolean | undefined): boolean {
  if (value === undefined || typeof value === 'boolean') return value === true;
  throw new LuaRequestError(
    `Lua pool option ${name}: must be true or false, got ${String(value)}; leave it out for false`,
  );
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw new LuaRequestError(
      `Lua pool option ${name}: must be a finite number of at least 1, got ${String(value)}; leave it out for the default (${fallback})`,
    );
  }
  return Math.floor(value);
}
