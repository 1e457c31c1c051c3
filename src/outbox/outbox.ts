import { randomUUID } from 'node:crypto';
import { defaultOutboxPath } from './default-path.js';
import { Destinations } from './destinations.js';
import { isBusy, OutboxError, storageError } from './errors.js';
import { backoffDelayMs, classifyFailure } from './failure.js';
import { type LockOwner, newLockOwner, releaseLockOwner } from './liveness.js';
import { OutboxStore, type ServedDestination } from './store.js';
import type {
  DestinationInput,
  DestinationStatus,
  DrainOptions,
  DrainProgress,
  HeldJob,
  JobOutcome,
  OutboxJob,
  OutboxJobInput,
  OutboxOptions,
  OutboxState,
  OutboxStatus,
  PurgeFilter,
} from './types.js';

interface DrainRun {
  delivered: number;
  dead: number;
  onProgress: ((progress: DrainProgress) => void) | undefined;
  resolve: (progress: DrainProgress) => void;
  reject: (error: Error) => void;
  deadline: NodeJS.Timeout | undefined;
}

interface Waiter {
  ids: number[];
  /** Ids not yet known to be final (or paused). */
  remaining: Set<number>;
  /** Distinct ids. */
  total: number;
  onProgress: ((settled: number, total: number) => void) | undefined;
  resolve: (outcomes: JobOutcome[]) => void;
  reject: (error: Error) => void;
  timeout: NodeJS.Timeout | undefined;
}

/** An outcome that could not be written (e.g. disk full); written again before the next claim. */
type UnrecordedOutcome = () => void;

type LocalOutcome = 'delivered' | 'dead' | 'retry' | 'paused' | 'lost';

const FINAL: ReadonlySet<OutboxState> = new Set(['delivered', 'dead', 'discarded']);

const HOUR = 3_600_000;

/**
 * Durable write outbox on SQLite. `enqueue` commits before it returns; a drainer delivers through the `deliver`
 * callback with bounded concurrency, strict order among jobs sharing an ordering key, backoff with full jitter and
 * a dead-letter state. Delivery is at-least-once: a process killed after delivering but before recording replays
 * the job (same `key`) on the next run.
 *
 * Failures: a job is dead only for its own fault (`retryable === false`), when a bounded kind of failure used its
 * attempts, or when it kept failing for `retryForMs` (24 h). A refused credential pauses the job's destination
 * instead. A dead job holds back the later jobs sharing its keys until it is retried or discarded: order is never
 * broken silently.
 *
 * Each job records its destination; this process delivers only jobs whose destination matches one of the
 * `destinations` it was opened with. Everything else stays pending, untouched, for a process that holds it.
 */
export class Outbox {
  static defaultPath(): string {
    return defaultOutboxPath();
  }

  private readonly path: string;
  private readonly store: OutboxStore;
  private readonly destinations: Destinations;
  private readonly owner: LockOwner;
  private readonly deliverFn: (job: OutboxJob) => Promise<unknown>;
  private readonly now: () => number;
  private readonly concurrency: number;
  /** Slots one destination's function (one endpoint) holds while other work is due: a hanging endpoint cannot take them all. */
  private readonly laneLimit: number;
  private readonly retryForMs: number;
  private readonly maxAttempts: number | undefined;
  private readonly maxInterruptions: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly pauseMs: number;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;

  private started = false;
  private closing: Promise<void> | undefined;
  private readonly drains = new Set<DrainRun>();
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly lanes = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private unrecorded: UnrecordedOutcome[] = [];
  private pumpQueued = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private waitPollTimer: NodeJS.Timeout | undefined;
  private progressCount: { at: number; pending: number } | undefined;

  constructor(options: OutboxOptions) {
    if (typeof options.deliver !== 'function') {
      throw new OutboxError(
        'outbox_invalid_option',
        'Outbox: `deliver` must be a function returning a promise.',
      );
    }
    if (typeof options.path !== 'string' || options.path === '') {
      throw new OutboxError(
        'outbox_invalid_option',
        'Outbox: `path` must be a file path (or ":memory:"); use Outbox.defaultPath() for the default.',
      );
    }
    this.path = options.path;
    this.deliverFn = options.deliver;
    this.now = options.now ?? Date.now;
    this.concurrency = positiveInt('concurrency', options.concurrency, 8);
    this.laneLimit = Math.max(1, Math.ceil(this.concurrency / 2));
    this.retryForMs = positiveInt('retryForMs', options.retryForMs, 24 * HOUR);
    this.maxAttempts =
      options.maxAttempts === undefined ? undefined : positiveInt('maxAttempts', options.maxAttempts, 1);
    this.maxInterruptions = positiveInt('maxInterruptions', options.maxInterruptions, 10);
    this.baseDelayMs = positiveInt('baseDelayMs', options.baseDelayMs, 500);
    this.maxDelayMs = positiveInt('maxDelayMs', options.maxDelayMs, 300_000);
    this.pauseMs = positiveInt('pauseMs', options.pauseMs, 60_000);
    this.leaseMs = positiveInt('leaseMs', options.leaseMs, 30_000);
    this.pollIntervalMs = positiveInt('pollIntervalMs', options.pollIntervalMs, 1000);
    this.store = new OutboxStore(options.path, options.synchronous ?? 'normal');
    try {
      this.destinations = new Destinations(this.store, options.destinations ?? []);
    } catch (error) {
      this.store.close();
      throw error;
    }
    this.owner = newLockOwner();
    if (options.autoStart) this.start();
  }

  /** Stores the job; durable (committed) when this returns, and never acknowledged otherwise. Wakes a drainer. */
  enqueue(input: OutboxJobInput): { id: number; key: string } {
    this.assertOpen('enqueue');
    if (typeof input?.fn !== 'string' || input.fn === '') {
      throw new OutboxError('outbox_invalid_job', 'enqueue: `fn` must be a non-empty string.');
    }
    const orderingKeys = distinctKeys(input.orderingKeys);
    let payload: string | undefined;
    try {
      payload = JSON.stringify(input.payload);
    } catch (error) {
      throw new OutboxError(
        'outbox_invalid_job',
        `enqueue: \`payload\` must be JSON-serialisable (${(error as Error).message}); pass plain data.`,
      );
    }
    if (payload === undefined) {
      throw new OutboxError('outbox_invalid_job', 'enqueue: `payload` must be a JSON value (got undefined).');
    }
    const key = randomUUID();
    const now = this.now();
    let id: number;
    try {
      const destination = this.destinations.record(input.destination, now);
      id = this.store.insert({ key, destination, fn: input.fn, orderingKeys, payload, now });
    } catch (error) {
      if (error instanceof OutboxError) throw error;
      throw storageError(this.path, 'store the write (it was not queued)', error);
    }
    this.wake();
    return { id, key };
  }

  /** Delivers in the background until `stop()` or `close()`. Its timers do not keep the process alive. */
  start(): void {
    this.assertOpen('start');
    this.started = true;
    this.wake();
  }

  /** Stops the background drainer and waits for the deliveries in flight to finish and be recorded. */
  async stop(): Promise<void> {
    this.started = false;
    if (!this.active) this.clearPumpTimer();
    await Promise.all([...this.inFlight.values()]);
  }

  /**
   * Delivers until nothing this process can deliver is left to try: no job of its destinations is sending, due,
   * or waiting for a backoff. Jobs held back by a dead job, of a paused destination, or of destinations it does
   * not hold are left (see `status()`). Or until `deadlineMs` from now. `delivered`/`dead` count outcomes reached
   * by this process during the call; `pending` is what is left of its destinations. On the deadline it returns at
   * once; deliveries already in flight finish in the background (`close()` awaits them). Rejects with
   * `outbox_storage` / `outbox_damaged` when the file cannot be read or written.
   */
  drain(options: DrainOptions = {}): Promise<DrainProgress> {
    this.assertOpen('drain');
    return new Promise((resolve, reject) => {
      const run: DrainRun = {
        delivered: 0,
        dead: 0,
        onProgress: options.onProgress,
        resolve,
        reject,
        deadline: undefined,
      };
      if (options.deadlineMs !== undefined) {
        run.deadline = setTimeout(() => this.finishDrain(run), Math.max(0, options.deadlineMs));
      }
      this.drains.add(run);
      this.wake();
    });
  }

  /**
   * Resolves when every id is delivered, dead or discarded, or pending in a paused destination (its outcome then
   * carries `pausedUntil`), or when the rest can only wait for an operator: nothing of their destinations is
   * sending or due, so they are held back by a dead job (`heldBy`, when it shares a key with them directly).
   * Or when `timeoutMs` passes (then some are still pending/sending). It does not deliver:
   * a drainer (`start()`/`drain()`, here or in another process) must be running. Without `timeoutMs` it waits as
   * long as that takes. `onProgress` hears how many of them are settled each time that number grows (counted as
   * outcomes arrive, not by reading every id again).
   */
  async waitFor(
    ids: number[],
    options: { timeoutMs?: number; onProgress?: (settled: number, total: number) => void } = {},
  ): Promise<JobOutcome[]> {
    this.assertOpen('waitFor');
    const current = this.store.outcomes(ids);
    const known = new Set(current.map((o) => o.id));
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length > 0) {
      throw new OutboxError('outbox_unknown_job', `waitFor: no outbox job with id ${missing.join(', ')}.`);
    }
    const open = current.filter((o) => !this.settled(o));
    if (open.length === 0 || this.stuck(open)) return ordered(ids, current);
    const remaining = new Set(open.map((o) => o.id));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        ids,
        remaining,
        total: known.size,
        onProgress: options.onProgress,
        resolve,
        reject,
        timeout: undefined,
      };
      reportProgress(waiter);
      if (options.timeoutMs !== undefined) {
        waiter.timeout = setTimeout(() => this.finishWaiter(waiter), Math.max(0, options.timeoutMs));
      }
      this.waiters.add(waiter);
      this.ensureWaitPoll();
    });
  }

  status(): OutboxStatus {
    this.assertOpen('status');
    const oldest = this.store.oldestActiveCreatedAt();
    return {
      counts: this.store.counts(),
      oldestPendingAgeMs: oldest === null ? null : Math.max(0, this.now() - oldest),
      lastErrors: this.store.lastErrors(),
      destinations: this.destinationStatus(),
      held: this.store.held().map((row): HeldJob => ({ ...row, keys: JSON.parse(row.keys) as string[] })),
    };
  }

  private destinationStatus(): DestinationStatus[] {
    const recorded = new Map(this.store.destinations().map((d) => [d.id, d]));
    const now = this.now();
    return this.store.destinationCounts().map((row) => {
      const destination = recorded.get(row.destinationId);
      const paused = destination?.pausedUntil != null && destination.pausedUntil > now;
      return {
        id: row.destinationId,
        integration: destination?.integration ?? row.integration,
        account: destination?.account ?? row.account,
        endpoint: destination?.endpoint ?? null,
        credentialHint: destination?.credentialHint ?? null,
        pending: row.pending,
        sending: row.sending,
        dead: row.dead,
        deliverableAs: destination ? (this.destinations.localAccount(destination) ?? null) : null,
        pausedUntil: paused ? (destination?.pausedUntil ?? null) : null,
        pauseReason: paused ? (destination?.pauseReason ?? null) : null,
      };
    });
  }

  /**
   * A dead job (or all dead jobs) back to pending with a fresh retry window; a pending job waiting for its backoff
   * becomes due now. A retried dead job keeps its place: the later jobs it held back still go after it. Returns
   * how many rows changed.
   */
  retry(target: number | 'dead'): number {
    this.assertOpen('retry');
    const now = this.now();
    const changed = target === 'dead' ? this.store.retryDead(now) : this.store.retryOne(target, now);
    if (changed === 0 && target !== 'dead') this.explainNot('retry', target, 'dead or pending');
    if (changed > 0) this.wake();
    return changed;
  }

  /**
   * Gives up on a dead job (or all dead jobs): it is kept as `discarded` and no longer holds back the later jobs
   * sharing its keys, which then go. Returns how many jobs were discarded.
   */
  discard(target: number | 'dead'): number {
    this.assertOpen('discard');
    const now = this.now();
    const changed = target === 'dead' ? this.store.discardDead(now) : this.store.discardOne(target, now);
    if (changed === 0 && target !== 'dead') this.explainNot('discard', target, 'dead');
    if (changed > 0) this.wake();
    return changed;
  }

  private explainNot(operation: string, id: number, states: string): never {
    const state = this.store.stateOf(id);
    const dead = this.store.deadIds(20);
    const deadList = dead.length > 0 ? `dead writes: ${dead.join(', ')}` : 'no write is dead';
    if (state === undefined) {
      throw new OutboxError(
        'outbox_unknown_job',
        `${operation}: no write with id ${id} in this outbox (${deadList}).`,
      );
    }
    const now = { sending: 'being delivered now', delivered: 'already delivered' }[state as string] ?? state;
    throw new OutboxError(
      'outbox_not_retryable',
      `${operation}: write ${id} is ${now}; only ${states} writes can be ${operation === 'retry' ? 'retried' : 'discarded'} (${deadList}).`,
    );
  }

  /**
   * Re-points the pending and dead jobs of a destination (by id, 0 for jobs queued before destinations were
   * recorded) at another one, e.g. after a credential rotation. An explicit operator action, never implicit.
   * Returns how many jobs moved.
   */
  move(from: number, to: DestinationInput): number {
    this.assertOpen('move');
    if (!Number.isInteger(from) || from < 0) {
      throw new OutboxError('outbox_invalid_option', `move: \`from\` must be a destination id, got ${from}.`);
    }
    const now = this.now();
    const destination = this.destinations.record(to, now);
    if (destination.id === from) return 0;
    const moved = this.store.move(from, destination, now);
    if (moved > 0) this.wake();
    return moved;
  }

  /**
   * Deletes delivered rows (optionally only those delivered at least `olderThanMs` ago) and gives the space back
   * to the file system. Returns how many.
   */
  purge(filter: PurgeFilter): number {
    this.assertOpen('purge');
    if (filter?.delivered !== true) {
      throw new OutboxError('outbox_invalid_option', 'purge: only `{ delivered: true }` is supported.');
    }
    return this.store.purgeDelivered(this.now() - Math.max(0, filter.olderThanMs ?? 0));
  }

  /** Stops delivering, settles pending `drain`/`waitFor` calls with the current state, waits for in-flight work. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.started = false;
    this.clearPumpTimer();
    for (const run of [...this.drains]) this.finishDrain(run);
    await Promise.all([...this.inFlight.values()]);
    for (const waiter of [...this.waiters]) this.finishWaiter(waiter);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    try {
      this.flushUnrecorded();
    } catch {
      // Still unwritable: those rows stay 'sending' under this instance, which is gone once released below, so
      // the next drainer on this host takes them back at once (and delivers them again: at-least-once).
    } finally {
      releaseLockOwner(this.owner);
      this.store.close();
    }
  }

  // --- the drainer ---

  private get active(): boolean {
    return this.closing === undefined && (this.started || this.drains.size > 0);
  }

  /** Coalesces wake-ups from a burst of enqueues or completions into one claim. */
  private wake(): void {
    if (!this.active || this.pumpQueued) return;
    // Every slot busy: the next finished delivery wakes the drainer itself, so a burst of enqueues costs nothing.
    if (this.inFlight.size >= this.concurrency) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    this.clearPumpTimer();
    if (!this.active) return;
    try {
      this.flushUnrecorded();
      // Read once per pump: other processes may have recorded destinations or paused one since the last.
      const served = this.destinations.served();
      const unpaused = this.unpaused(served);
      const free = this.concurrency - this.inFlight.size;
      if (free > 0) {
        const jobs = this.store.claim({
          owner: this.owner,
          limit: free,
          now: this.now(),
          leaseMs: this.leaseMs,
          maxInterruptions: this.maxInterruptions,
          served: unpaused,
          gates: this.laneGates(),
        });
        for (const job of jobs) this.launch(job);
      }
      if (this.drains.size > 0) this.settleDrainsIfIdle(served, unpaused);
      this.scheduleNextPump(unpaused);
    } catch (error) {
      // Another process held the write lock past the busy timeout: try again after a pause. Anything else (disk
      // full, a damaged or vanished file) is reported at once, not retried in silence.
      if (isBusy(error)) this.armPumpTimer(this.pollIntervalMs);
      else this.failStorage(storageError(this.path, 'deliver queued writes', error));
    }
  }

  /**
   * Claim passes by lane (destination + function): first each lane up to half the slots; then, with slots still
   * free (nothing else due), up to all but one. The slot a lane never takes is there at once for any other write
   * that arrives while an endpoint hangs; a single-endpoint backlog still uses all but one slot.
   */
  private laneGates(): Array<(destinationId: number, fn: string) => boolean> {
    const held = new Map(this.lanes);
    const upTo = (limit: number) => (destinationId: number, fn: string) => {
      const lane = laneOf(destinationId, fn);
      const count = held.get(lane) ?? 0;
      if (count >= limit) return false;
      held.set(lane, count + 1);
      return true;
    };
    // With two slots or fewer there is nothing to spare: a lane may use them all.
    const allButOne = this.concurrency > 2 ? this.concurrency - 1 : this.concurrency;
    return [upTo(this.laneLimit), upTo(allButOne)];
  }

  /**
   * Timers only for backoffs and for work other processes may add or release; deliveries in flight wake the
   * drainer themselves when they finish.
   */
  private scheduleNextPump(unpaused: ServedDestination[]): void {
    if (!this.active || this.inFlight.size >= this.concurrency) return;
    const now = this.now();
    const nextDue = this.store.nextDueAt(this.servedIds(unpaused));
    if (nextDue !== null && nextDue > now) {
      this.armPumpTimer(Math.min(nextDue - now, this.pollIntervalMs));
    } else if (this.inFlight.size === 0) {
      this.armPumpTimer(this.pollIntervalMs);
    }
  }

  private armPumpTimer(delayMs: number): void {
    this.clearPumpTimer();
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, delayMs);
    // A background drainer alone must not keep the process alive; a drain() in progress must.
    if (this.drains.size === 0) this.pumpTimer.unref();
  }

  private clearPumpTimer(): void {
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
  }

  private launch(job: OutboxJob): void {
    const lane = laneOf(job.destination.id, job.fn);
    this.lanes.set(lane, (this.lanes.get(lane) ?? 0) + 1);
    const run = async (): Promise<void> => {
      let outcome: LocalOutcome;
      try {
        const result = await this.deliverFn(job);
        outcome = this.recordDelivered(job, result);
      } catch (error) {
        outcome = this.recordFailure(job, error);
      }
      this.inFlight.delete(job.id);
      const left = (this.lanes.get(lane) ?? 1) - 1;
      if (left > 0) this.lanes.set(lane, left);
      else this.lanes.delete(lane);
      if (this.inFlight.size === 0 && this.leaseTimer) {
        clearInterval(this.leaseTimer);
        this.leaseTimer = undefined;
      }
      this.afterOutcome(job.id, outcome);
      this.wake();
    };
    this.inFlight.set(job.id, run());
    if (!this.leaseTimer) {
      const every = Math.max(1, Math.floor(this.leaseMs / 3));
      this.leaseTimer = setInterval(() => {
        try {
          this.store.renewLeases(this.owner, this.now() + this.leaseMs);
        } catch {
          // Busy or I/O error: the next tick tries again; the lease has two more thirds to go.
        }
      }, every);
      this.leaseTimer.unref();
    }
  }

  private recordDelivered(job: OutboxJob, result: unknown): LocalOutcome {
    const write = () => this.store.markDelivered(this.owner, job, serialiseResult(result), this.now());
    return this.record(write) ? 'delivered' : 'lost';
  }

  private recordFailure(job: OutboxJob, error: unknown): LocalOutcome {
    const verdict = classifyFailure(error);
    const now = this.now();
    if (verdict.pauseDestination) {
      const pause = { baseMs: this.pauseMs, maxMs: Math.max(this.maxDelayMs, this.pauseMs) };
      const write = () =>
        this.store.markPaused(
          this.owner,
          job,
          verdict.message,
          pause,
          now + (verdict.retryAfterMs ?? 0),
          now,
        );
      return this.record(write) ? 'paused' : 'lost';
    }
    const failingSince = job.firstFailedAt ?? now;
    const dead =
      !verdict.retryable ||
      (this.maxAttempts !== undefined && job.attempts >= this.maxAttempts) ||
      (verdict.maxAttempts !== undefined && job.attempts >= verdict.maxAttempts) ||
      now - failingSince >= this.retryForMs;
    const nextAttemptAt = dead
      ? now
      : now + backoffDelayMs(job.attempts, verdict.retryAfterMs, this.baseDelayMs, this.maxDelayMs);
    const write = () =>
      this.store.markFailed(this.owner, job, dead ? 'dead' : 'pending', verdict.message, nextAttemptAt, now);
    if (!this.record(write)) return 'lost';
    return dead ? 'dead' : 'retry';
  }

  /** Writes an outcome; if the write itself fails, keeps it to write again (the lease keeps the row ours). */
  private record(write: () => boolean): boolean {
    try {
      return write();
    } catch (error) {
      this.unrecorded.push(() => void write());
      if (!isBusy(error)) this.failStorage(storageError(this.path, 'record a delivery outcome', error));
      return false;
    }
  }

  private flushUnrecorded(): void {
    const queue = this.unrecorded;
    this.unrecorded = [];
    for (const [index, write] of queue.entries()) {
      try {
        write();
      } catch (error) {
        this.unrecorded.push(...queue.slice(index));
        throw error;
      }
    }
  }

  /** The storage failed: stop claiming, and fail every drain and wait with the reason instead of hanging. */
  private failStorage(error: OutboxError): void {
    this.started = false;
    this.clearPumpTimer();
    for (const run of [...this.drains]) {
      this.drains.delete(run);
      if (run.deadline) clearTimeout(run.deadline);
      run.reject(error);
    }
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      if (waiter.timeout) clearTimeout(waiter.timeout);
      waiter.reject(error);
    }
    this.stopWaitPollIfIdle();
  }

  private afterOutcome(id: number, outcome: LocalOutcome): void {
    if (this.drains.size > 0) {
      let pending: number;
      try {
        pending = this.pendingForProgress(outcome);
      } catch (error) {
        this.failStorage(storageError(this.path, 'count queued writes', error));
        return;
      }
      for (const run of this.drains) {
        if (outcome === 'delivered') run.delivered++;
        if (outcome === 'dead') run.dead++;
        if (run.onProgress) {
          try {
            run.onProgress({ delivered: run.delivered, dead: run.dead, pending });
          } catch {
            // A failing progress callback must not stop deliveries.
          }
        }
      }
    }
    if (outcome === 'delivered' || outcome === 'dead') {
      for (const waiter of this.waiters) {
        if (!waiter.remaining.delete(id)) continue;
        reportProgress(waiter);
        if (waiter.remaining.size === 0) this.finishWaiter(waiter);
      }
    }
    // A pause settles every waiting job of that destination; a dead job may leave the ones behind it stuck.
    if (outcome === 'paused' || outcome === 'dead') this.checkWaiters();
  }

  /**
   * What is left, for progress reports: counted again at most every 250 ms and otherwise kept up to date by this
   * process's own outcomes. Counting after every delivery made a drain's cost grow with the square of the backlog.
   */
  private pendingForProgress(outcome: LocalOutcome): number {
    if (![...this.drains].some((run) => run.onProgress)) return 0;
    const now = performance.now();
    if (this.progressCount === undefined || now - this.progressCount.at > 250) {
      this.progressCount = {
        at: now,
        pending: this.store.activeCount(this.servedIds(this.destinations.served())),
      };
    } else if (outcome === 'delivered' || outcome === 'dead') {
      this.progressCount.pending = Math.max(0, this.progressCount.pending - 1);
    }
    return this.progressCount.pending;
  }

  /** Drains end when nothing of this process's destinations is sending, due, or waiting for a backoff. */
  private settleDrainsIfIdle(served: ServedDestination[], unpaused: ServedDestination[]): void {
    if (this.inFlight.size > 0) return;
    if (this.store.sendingCount(this.servedIds(served)) > 0) return;
    if (this.store.nextDueAt(this.servedIds(unpaused)) !== null) return;
    for (const run of [...this.drains]) this.finishDrain(run);
  }

  private finishDrain(run: DrainRun): void {
    if (!this.drains.delete(run)) return;
    if (run.deadline) clearTimeout(run.deadline);
    if (!this.active) this.clearPumpTimer();
    try {
      const pending = this.store.activeCount(this.servedIds(this.destinations.served()));
      run.resolve({ delivered: run.delivered, dead: run.dead, pending });
    } catch (error) {
      run.reject(storageError(this.path, 'count queued writes', error));
    }
  }

  /** Those of the destinations that are not paused now. */
  private unpaused(served: ServedDestination[]): ServedDestination[] {
    const now = this.now();
    return served.filter(
      ({ destination }) => !(destination.pausedUntil !== null && destination.pausedUntil > now),
    );
  }

  private servedIds(served: ServedDestination[]): number[] {
    return served.map((s) => s.destination.id);
  }

  // --- waitFor ---

  private settled(outcome: JobOutcome): boolean {
    return (
      FINAL.has(outcome.state) || (outcome.pausedUntil !== undefined && outcome.pausedUntil > this.now())
    );
  }

  /**
   * The unsettled jobs can only wait for an operator: nothing of their destinations is sending or due (now or
   * after a backoff), so what is left is held back by dead jobs.
   */
  private stuck(open: Array<{ destinationId: number }>): boolean {
    const destinations = [...new Set(open.map((o) => o.destinationId))];
    return this.store.sendingCount(destinations) === 0 && this.store.nextDueAt(destinations) === null;
  }

  /** Jobs may be finished by other processes: look now and then while someone waits. */
  private ensureWaitPoll(): void {
    if (this.waitPollTimer) return;
    this.waitPollTimer = setInterval(() => this.checkWaiters(), this.pollIntervalMs);
  }

  private checkWaiters(): void {
    for (const waiter of [...this.waiters]) {
      let done: boolean;
      try {
        // Only the jobs still open among the ids' range are read (a wait for 100k ids read every one of them each
        // second, 3 s a time): any other waited id is delivered, dead, discarded or purged, so settled.
        let min = Number.POSITIVE_INFINITY;
        let max = 0;
        for (const id of waiter.remaining) {
          min = Math.min(min, id);
          max = Math.max(max, id);
        }
        const now = this.now();
        const open = this.store
          .openJobs(min, max)
          .filter(
            (o) =>
              waiter.remaining.has(o.id) &&
              !(o.state === 'pending' && o.pausedUntil !== null && o.pausedUntil > now),
          );
        const stillOpen = new Set(open.map((o) => o.id));
        const before = waiter.remaining.size;
        for (const id of [...waiter.remaining]) if (!stillOpen.has(id)) waiter.remaining.delete(id);
        if (waiter.remaining.size < before) reportProgress(waiter);
        done = waiter.remaining.size === 0 || this.stuck(open);
      } catch (error) {
        if (!isBusy(error)) this.failStorage(storageError(this.path, 'read queued writes', error));
        return;
      }
      if (done) this.finishWaiter(waiter);
    }
  }

  private finishWaiter(waiter: Waiter): void {
    if (!this.waiters.delete(waiter)) return;
    if (waiter.timeout) clearTimeout(waiter.timeout);
    this.stopWaitPollIfIdle();
    try {
      waiter.resolve(ordered(waiter.ids, this.store.outcomes(waiter.ids)));
    } catch (error) {
      waiter.reject(storageError(this.path, 'read queued writes', error));
    }
  }

  private stopWaitPollIfIdle(): void {
    if (this.waiters.size === 0 && this.waitPollTimer) {
      clearInterval(this.waitPollTimer);
      this.waitPollTimer = undefined;
    }
  }

  private assertOpen(operation: string): void {
    if (this.closing !== undefined) {
      throw new OutboxError(
        'outbox_closed',
        `${operation}: this outbox is closed; open a new Outbox on the file.`,
      );
    }
  }
}

const laneOf = (destinationId: number, fn: string): string => `${destinationId}\n${fn}`;

function reportProgress(waiter: Waiter): void {
  try {
    waiter.onProgress?.(waiter.total - waiter.remaining.size, waiter.total);
  } catch {
    // A failing progress callback must not stop the wait.
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new OutboxError(
      'outbox_invalid_option',
      `Outbox: \`${name}\` must be a positive integer (got ${value}).`,
    );
  }
  return value;
}

function distinctKeys(keys: unknown): string[] {
  const valid =
    Array.isArray(keys) && keys.length > 0 && keys.every((key) => typeof key === 'string' && key !== '');
  if (!valid) {
    throw new OutboxError(
      'outbox_invalid_job',
      'enqueue: `orderingKeys` must be a non-empty array of non-empty strings (e.g. the user ids the write names).',
    );
  }
  return [...new Set(keys as string[])];
}

function serialiseResult(result: unknown): string {
  try {
    return JSON.stringify(result) ?? 'null';
  } catch {
    return 'null';
  }
}

/** Outcomes in the order of the ids asked for; an id no longer stored was purged, which only happens once delivered. */
function ordered(ids: number[], outcomes: Array<JobOutcome & { destinationId?: number }>): JobOutcome[] {
  const byId = new Map(outcomes.map(({ destinationId: _destination, ...outcome }) => [outcome.id, outcome]));
  return ids.map((id) => byId.get(id) ?? { id, state: 'delivered' });
}
