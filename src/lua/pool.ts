/**
 * LuaPool: a fixed set of sandbox workers, each running one script at a time on a fresh Lua state; further runs
 * queue. A run that outlives its time limit (e.g. a Lua pattern with catastrophic backtracking, which no hook can
 * interrupt) gets its worker terminated and replaced; other runs are unaffected.
 */
import { Buffer } from 'node:buffer';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { LuaPoolClosedError, LuaRequestError, LuaWorkerStartError } from './errors.js';
import { limitMessage, resolveLimits } from './limits.js';
import type { CallAnswer, RunRequest, WorkerEvent, WorkerInit } from './protocol.js';
import type { LuaHost, LuaLimits, LuaNamespace, LuaPoolOptions, LuaRunError, LuaRunResult } from './types.js';

/** Past timeoutMs, how long the worker gets to stop by itself before it is terminated. */
const KILL_GRACE_MS = 500;
/** After a run's result, how long the worker may take to close that state and ready the next before it is replaced. */
const CLOSE_GRACE_MS = 1000;
/**
 * Workers that die before ever becoming ready, in a row, before the pool stops starting new ones and fails the
 * queued runs; the next run() starts a fresh set.
 */
const MAX_START_FAILURES = 3;

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

interface Slot {
  worker: Worker;
  flag: Int32Array;
  answers: MessagePort;
  ready: boolean;
  everReady: boolean;
  dead: boolean;
  job: Job | null;
  lastError?: Error;
  /** set between a run's result and the worker's next 'ready' */
  closeTimer?: NodeJS.Timeout;
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
  private readonly size: number;
  private readonly limits: LuaLimits;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private runSeq = 0;
  private closed = false;
  private startFailures = 0;
  /** Set when workers kept failing to start: nothing is respawned until the next run() asks for workers. */
  private stalled = false;
  private readonly resourceLimits: LuaPoolOptions['resourceLimits'];

  constructor(options: LuaPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? 2));
    this.limits = resolveLimits(options.limits);
    this.resourceLimits = options.resourceLimits;
    this.fill();
  }

  private fill(): void {
    while (this.slots.length < this.size) this.slots.push(this.spawn());
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
          this.fill();
        }
        this.dispatch();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Terminates every worker; queued and running scripts reject with LuaPoolClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new LuaPoolClosedError());
    const exits: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      if (slot.job && !slot.job.finished) {
        const job = slot.job;
        job.finished = true;
        clearTimeout(job.killTimer);
        job.reject(new LuaPoolClosedError());
      }
      slot.job = null;
      slot.dead = true;
      slot.answers.close();
      exits.push(slot.worker.terminate());
    }
    this.slots.length = 0;
    await Promise.all(exits);
  }

  private spawn(): Slot {
    const signal = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { signal, answers: port2 };
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
      job: null,
    };
    worker.on('message', (event: WorkerEvent) => this.onEvent(slot, event));
    worker.on('error', (error) => {
      slot.lastError = error;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.ready && !s.dead && !s.job);
      if (!slot) break;
      const job = this.queue.shift() as Job;
      this.start(slot, job);
    }
    this.updateRefs();
  }

  /** Workers keep the process alive only while there is work: a run in progress or waiting for a worker. */
  private updateRefs(): void {
    const waiting = this.queue.length > 0;
    for (const slot of this.slots) {
      if (slot.job || waiting) slot.worker.ref();
      else slot.worker.unref();
    }
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    const request: RunRequest = {
      type: 'run',
      runId: job.runId,
      code: job.code,
      limits: job.limits,
      namespacesJson: job.namespacesJson,
    };
    slot.worker.postMessage(request);
    job.killTimer = setTimeout(() => this.kill(slot, job), job.limits.timeoutMs + KILL_GRACE_MS);
  }

  private finish(slot: Slot, job: Job, result: Omit<LuaRunResult, 'output'>, lines: string[] = []): void {
    if (job.finished) return;
    job.finished = true;
    clearTimeout(job.killTimer);
    if (slot.job === job) slot.job = null;
    this.updateRefs();
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

  /** The run outlived its time limit and did not stop itself: terminate the worker (it is replaced on exit). */
  private kill(slot: Slot, job: Job): void {
    if (job.finished || slot.job !== job) return;
    slot.dead = true;
    const limitMsg = limitMessage('lua_timeout', job.limits);
    this.finish(slot, job, this.failure({ code: 'lua_timeout', message: limitMsg }));
    void slot.worker.terminate();
  }

  private onEvent(slot: Slot, event: WorkerEvent): void {
    switch (event.type) {
      case 'ready':
        clearTimeout(slot.closeTimer);
        slot.ready = true;
        slot.everReady = true;
        this.startFailures = 0;
        this.dispatch();
        return;
      case 'output': {
        const job = slot.job;
        if (job && job.runId === event.runId) job.output.push(...event.lines);
        return;
      }
      case 'call': {
        const job = slot.job;
        if (!job || job.runId !== event.runId) return;
        if (event.lines.length > 0) job.output.push(...event.lines);
        void this.answer(slot, job, event);
        return;
      }
      case 'done': {
        const job = slot.job;
        if (event.poisoned) slot.dead = true;
        // Busy until the worker has closed this state and readied the next one.
        slot.ready = false;
        slot.closeTimer = setTimeout(() => {
          slot.dead = true;
          void slot.worker.terminate();
        }, CLOSE_GRACE_MS);
        slot.closeTimer.unref();
        if (job && job.runId === event.runId) {
          const { outcome } = event;
          const result: Omit<LuaRunResult, 'output'> = {
            ok: outcome.ok,
            result: outcome.resultJson === undefined ? null : JSON.parse(outcome.resultJson),
            stats: outcome.stats,
          };
          if (outcome.error) result.error = outcome.error;
          this.finish(slot, job, result, event.lines);
        }
        this.dispatch();
        return;
      }
    }
  }

  private async answer(slot: Slot, job: Job, event: Extract<WorkerEvent, { type: 'call' }>): Promise<void> {
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
    if (job.finished || slot.job !== job || slot.dead) return;
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
    clearTimeout(slot.closeTimer);
    const index = this.slots.indexOf(slot);
    if (index === -1) return; // closed
    this.slots.splice(index, 1);
    const neverReady = !slot.everReady;
    if (slot.job && !slot.job.finished) {
      const detail = slot.lastError ? `: ${slot.lastError.message}` : ` (exit code ${code})`;
      this.finish(
        slot,
        slot.job,
        this.failure({ code: 'lua_internal_error', message: `sandbox worker stopped${detail}` }),
      );
    }
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
    if (!this.stalled) this.slots.push(this.spawn());
    this.dispatch();
  }
}
