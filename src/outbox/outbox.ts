import { randomUUID } from 'node:crypto';
import { defaultOutboxPath } from './default-path.js';
import { checkDestination, Destinations } from './destinations.js';
import { OutboxError } from './errors.js';
import { backoffDelayMs, classifyFailure } from './failure.js';
import { IdSet } from './id-set.js';
import { type LockOwner, newLockOwner, releaseLockOwner } from './liveness.js';
import { openStorage } from './open-storage.js';
import type {
  ClaimResult,
  DeliveryOutcome,
  OpenJob,
  OutboxStorage,
  ServedDestination,
  StoredOutcome,
} from './storage.js';
import type {
  Destination,
  DestinationInput,
  DestinationStatus,
  DrainOptions,
  DrainProgress,
  JobOutcome,
  JobTally,
  OutboxJob,
  OutboxJobInput,
  OutboxOptions,
  OutboxState,
  OutboxStatus,
  PurgeFilter,
  WaitOptions,
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
  /** The ids waited for; open: not yet known to be final (or paused). */
  ids: IdSet;
  /** How many were settled at the last progress report. */
  reported: number;
  onProgress: ((settled: number, total: number) => void) | undefined;
  /** Reads what the wait resolves with and resolves it (after a last progress report). */
  conclude: () => Promise<void>;
  reject: (error: Error) => void;
  timeout: NodeJS.Timeout | undefined;
}

/** What a wait resolves with, and how many of its ids the read that made it found settled. */
interface Conclusion<T> {
  value: T;
  settled: number;
}

type LocalOutcome = 'delivered' | 'dead' | 'retry' | 'paused' | 'lost';

/** A finished delivery: its outcome is recorded by the next claim, in the same transaction. */
interface Finished {
  job: OutboxJob;
  outcome: DeliveryOutcome;
  /** What it means here once recorded. */
  local: Exclude<LocalOutcome, 'lost'>;
}

const FINAL: ReadonlySet<OutboxState> = new Set(['delivered', 'dead', 'discarded']);

const HOUR = 3_600_000;
/** How many open jobs a wait reads at once. */
const LOOK_PAGE = 1000;

/**
 * Durable write outbox on SQLite (a file, the default) or PostgreSQL (a `postgres://` URL as `path`: any number
 * of producers and drainers on any number of hosts). `enqueue` commits before it returns; a drainer delivers through the `deliver`
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

  private readonly storage: OutboxStorage;
  /** Resolves once the store is ready (PostgreSQL connects and migrates on first use). */
  private readonly opened: Promise<Destinations>;
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
  /** Claimed jobs until their outcome is recorded (or given up on): settles when it is. */
  private readonly inFlight = new Map<number, { settled: Promise<void>; settle: () => void }>();
  /** Deliveries started and not finished: the slots in use. */
  private delivering = 0;
  /** Finished deliveries whose outcomes the next claim records. */
  private finished: Finished[] = [];
  /** Outcomes that could not be written (e.g. disk full); written again with the next claim. */
  private unrecorded: DeliveryOutcome[] = [];
  private readonly lanes = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private pumpQueued = false;
  /** The claim in progress: one at a time, so two never take the same free slots. */
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private checkingWaiters = false;
  private checkWaitersAgain = false;
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
        'Outbox: `path` must be a file path (or ":memory:") or a postgres:// URL; use Outbox.defaultPath() for the default.',
      );
    }
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
    const held = options.destinations ?? [];
    for (const destination of held) checkDestination(destination);
    this.storage = openStorage(options.path, {
      synchronous: options.synchronous ?? 'normal',
      concurrency: this.concurrency,
    });
    this.opened = Destinations.open(this.storage, held);
    // Reported by the first operation that awaits it; never an unhandled rejection.
    this.opened.catch(() => {});
    // Another process made jobs claimable, or finished some (PostgreSQL's NOTIFY): claim now, or look at the
    // waited-for ids now, instead of at the next poll.
    this.storage.onChange((change) => {
      if (change === 'work') this.wake();
      else if (this.waiters.size > 0) void this.checkWaiters();
    });
    this.owner = newLockOwner();
    if (options.autoStart) this.start();
  }

  /** Stores the job; durable (committed) when this resolves, and never acknowledged otherwise. Wakes a drainer. */
  async enqueue(input: OutboxJobInput): Promise<{ id: number; key: string }> {
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
    checkDestination(input.destination);
    const key = randomUUID();
    const now = this.now();
    let id: number;
    try {
      const destinations = await this.opened;
      const destination = await destinations.record(input.destination, now);
      id = await this.storage.insert({ key, destination, fn: input.fn, orderingKeys, payload, now });
    } catch (error) {
      throw this.storage.failure('store the write (it was not queued)', error);
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
    await this.settleInFlight();
  }

  /**
   * Delivers until nothing this process can deliver is left to try: no job of its destinations is sending, due,
   * or waiting for a backoff. Jobs held back by a dead job, of a paused destination, or of destinations it does
   * not hold are left (see `status()`). Or until `deadlineMs` from now. `delivered`/`dead` count outcomes reached
   * by this process during the call; `pending` is what is left of its destinations. On the deadline it returns at
   * once; deliveries already in flight finish in the background (`close()` awaits them). Rejects with
   * `outbox_storage` / `outbox_damaged` when the file or database cannot be read or written.
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
        run.deadline = setTimeout(() => void this.finishDrain(run), Math.max(0, options.deadlineMs));
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
  async waitFor(ids: number[], options: WaitOptions = {}): Promise<JobOutcome[]> {
    this.assertOpen('waitFor');
    const current = await this.read('read queued writes', () => this.storage.outcomes(ids));
    const known = new Set(current.map((o) => o.id));
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length > 0) {
      throw new OutboxError('outbox_unknown_job', `waitFor: no outbox job with id ${missing.join(', ')}.`);
    }
    const open = current.filter((o) => !this.settled(o));
    if (
      open.length === 0 ||
      (await this.read('read queued writes', () => this.stuck(open.map((o) => o.destinationId))))
    )
      return ordered(ids, current);
    const waited = new IdSet(ids);
    waited.settleAllBut(open.map((o) => o.id));
    return this.wait(waited, options, async () => {
      const outcomes = ordered(ids, await this.storage.outcomes(ids));
      for (const outcome of outcomes) if (this.settled(outcome)) waited.settle(outcome.id);
      return { value: outcomes, settled: waited.total - waited.size };
    });
  }

  /**
   * `waitFor` for many writes (an import's): resolves when `waitFor` would, with counts by state and the details of
   * only the first few not delivered (`details`, default 10), instead of an outcome per id. Ids are those `enqueue`
   * returned; one no longer stored counts as delivered (only delivered rows are purged). Memory stays at a few
   * bytes an id, and its final read is one range of rows for the ids of one import.
   */
  async waitForTally(ids: number[], options: WaitOptions & { details?: number } = {}): Promise<JobTally> {
    this.assertOpen('waitForTally');
    const notAnId = ids.find((id) => !Number.isSafeInteger(id) || id < 1);
    if (notAnId !== undefined) {
      throw new OutboxError('outbox_unknown_job', `waitForTally: ${notAnId} is not an outbox job id.`);
    }
    const details = options.details ?? 10;
    if (!Number.isSafeInteger(details) || details < 0) {
      throw new OutboxError(
        'outbox_invalid_option',
        `waitForTally: \`details\` must be a whole number, 0 or more (got ${details}).`,
      );
    }
    const waited = new IdSet(ids);
    return this.wait(waited, options, async () => {
      const ranges = waited.ranges();
      const counts = await this.storage.countStates(ranges, this.now());
      const { pending, sending, delivered, dead, discarded, paused } = counts;
      const purged = waited.total - (pending + sending + delivered + dead + discarded);
      const tally: JobTally = {
        total: waited.total,
        delivered: delivered + purged,
        dead,
        discarded,
        pending,
        sending,
        notDelivered:
          delivered + purged < waited.total && details > 0
            ? (await this.storage.undelivered(ranges, details)).map(withoutDestination)
            : [],
      };
      return { value: tally, settled: waited.total - sending - (pending - paused) };
    });
  }

  /**
   * Registers a wait for the open ids of `ids`, which ends when none is open, when the rest can only wait for an
   * operator, or on the timeout; then `conclude` reads what it resolves with.
   */
  private wait<T>(ids: IdSet, options: WaitOptions, conclude: () => Promise<Conclusion<T>>): Promise<T> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        ids,
        reported: -1,
        onProgress: options.onProgress,
        conclude: async () => {
          const { value, settled } = await conclude();
          reportProgress(waiter, settled);
          resolve(value);
        },
        reject,
        timeout: undefined,
      };
      reportProgress(waiter);
      if (options.timeoutMs !== undefined) {
        waiter.timeout = setTimeout(() => void this.finishWaiter(waiter), Math.max(0, options.timeoutMs));
      }
      this.waiters.add(waiter);
      this.ensureWaitPoll();
      // Look now, now that the waiter is known: a job may have finished while its state was being read (waitFor),
      // and waitForTally has not looked at all yet.
      void this.checkWaiters();
    });
  }

  async status(): Promise<OutboxStatus> {
    this.assertOpen('status');
    return this.read('read the outbox status', async () => {
      const oldest = await this.storage.oldestActiveCreatedAt();
      return {
        counts: await this.storage.counts(),
        oldestPendingAgeMs: oldest === null ? null : Math.max(0, this.now() - oldest),
        lastErrors: await this.storage.lastErrors(),
        destinations: await this.destinationStatus(),
        held: await this.storage.held(),
      };
    });
  }

  private async destinationStatus(): Promise<DestinationStatus[]> {
    const destinations = await this.opened;
    const recorded = new Map((await this.storage.destinations()).map((d) => [d.id, d]));
    const now = this.now();
    return (await this.storage.destinationCounts()).map((row) => {
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
        deliverableAs: destination ? (destinations.localAccount(destination) ?? null) : null,
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
  async retry(target: number | 'dead'): Promise<number> {
    this.assertOpen('retry');
    const now = this.now();
    const changed = await this.read('retry queued writes', () =>
      target === 'dead' ? this.storage.retryDead(now) : this.storage.retryOne(target, now),
    );
    if (changed === 0 && target !== 'dead') await this.explainNot('retry', target, 'dead or pending');
    if (changed > 0) this.wake();
    return changed;
  }

  /**
   * Gives up on a dead job (or all dead jobs): it is kept as `discarded` and no longer holds back the later jobs
   * sharing its keys, which then go. Returns how many jobs were discarded.
   */
  async discard(target: number | 'dead'): Promise<number> {
    this.assertOpen('discard');
    const now = this.now();
    const changed = await this.read('discard queued writes', () =>
      target === 'dead' ? this.storage.discardDead(now) : this.storage.discardOne(target, now),
    );
    if (changed === 0 && target !== 'dead') await this.explainNot('discard', target, 'dead');
    if (changed > 0) this.wake();
    return changed;
  }

  private async explainNot(operation: string, id: number, states: string): Promise<never> {
    const [state, dead] = await this.read('read queued writes', () =>
      Promise.all([this.storage.stateOf(id), this.storage.deadIds(20)]),
    );
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
  async move(from: number, to: DestinationInput): Promise<number> {
    this.assertOpen('move');
    if (!Number.isInteger(from) || from < 0) {
      throw new OutboxError('outbox_invalid_option', `move: \`from\` must be a destination id, got ${from}.`);
    }
    checkDestination(to);
    const now = this.now();
    const moved = await this.read('move queued writes', async () => {
      const destination = await (await this.opened).record(to, now);
      return destination.id === from ? 0 : this.storage.move(from, destination, now);
    });
    if (moved > 0) this.wake();
    return moved;
  }

  /**
   * Deletes delivered rows (optionally only those delivered at least `olderThanMs` ago) and gives the space back
   * to the file system. Returns how many.
   */
  async purge(filter: PurgeFilter): Promise<number> {
    this.assertOpen('purge');
    if (filter?.delivered !== true) {
      throw new OutboxError('outbox_invalid_option', 'purge: only `{ delivered: true }` is supported.');
    }
    const before = this.now() - Math.max(0, filter.olderThanMs ?? 0);
    return this.read('purge delivered writes', () => this.storage.purgeDelivered(before));
  }

  /** Runs a read or operator change once the store is open; a storage failure says what it could not do. */
  private async read<T>(doing: string, work: () => Promise<T>): Promise<T> {
    try {
      await this.opened;
      return await work();
    } catch (error) {
      throw this.storage.failure(doing, error);
    }
  }

  /** Stops delivering, settles pending `drain`/`waitFor` calls with the current state, waits for in-flight work. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.started = false;
    this.clearPumpTimer();
    await this.pumping;
    await Promise.all([...this.drains].map((run) => this.finishDrain(run)));
    await this.settleInFlight();
    await Promise.all([...this.waiters].map((waiter) => this.finishWaiter(waiter)));
    this.stopWaitPollIfIdle();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    try {
      await this.opened;
      if (this.unrecorded.length > 0) await this.exchange([], 0, () => [], []);
    } catch {
      // Still unwritable: those rows stay 'sending' under this instance, which is gone once released below, so
      // the next drainer on this host takes them back at once, and on any host once the lease expires (and
      // delivers them again: at-least-once).
    } finally {
      releaseLockOwner(this.owner);
      await this.storage.close();
    }
  }

  // --- the drainer ---

  private get active(): boolean {
    return this.closing === undefined && (this.started || this.drains.size > 0);
  }

  /**
   * Waits until every claimed job's outcome is recorded or given up on: finished deliveries are recorded by the
   * pump even while stopping or closing.
   */
  private async settleInFlight(): Promise<void> {
    while (this.pumping || this.inFlight.size > 0) {
      await this.pumping;
      await Promise.all([...this.inFlight.values()].map((job) => job.settled));
    }
  }

  /** Coalesces wake-ups from a burst of enqueues or completions into one claim. */
  private wake(): void {
    if (this.pumpQueued) return;
    // Finished deliveries are recorded even when stopping. Every slot busy: the next finished delivery wakes the
    // drainer itself, so a burst of enqueues costs nothing.
    if (this.finished.length === 0 && (!this.active || this.delivering >= this.concurrency)) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** One claim at a time: a wake-up during a claim runs another right after it. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.claimAndLaunch().finally(() => {
      this.pumping = undefined;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.wake();
      }
    });
  }

  /**
   * Records the finished deliveries' outcomes and claims due jobs for the free slots, in one storage call (one
   * transaction on SQLite): a burst of finished deliveries costs one commit, and the next job of a delivered
   * job's keys goes at once.
   */
  private async claimAndLaunch(): Promise<void> {
    this.clearPumpTimer();
    if (!this.active && this.finished.length === 0) return;
    const batch = this.finished;
    this.finished = [];
    // The held destinations as the claim read them: after this batch's outcomes, so its pauses (or their end) count.
    let served: ServedDestination[] = [];
    let recorded: boolean[];
    let nextDueAt: number | null;
    const repeated = this.unrecorded.length;
    try {
      const destinations = await this.opened;
      const serve = (recorded: Destination[]): ServedDestination[] => {
        served = destinations.servedFrom(recorded);
        return this.unpaused(served);
      };
      const limit = this.active ? this.concurrency - this.delivering : 0;
      const claimed = await this.exchange(
        batch.map((f) => f.outcome),
        limit,
        serve,
        this.laneGates(),
      );
      recorded = claimed.recorded.slice(repeated);
      nextDueAt = claimed.nextDueAt;
      for (const job of claimed.jobs) this.launch(job);
    } catch (error) {
      // Not written: the leases keep the rows ours; the outcomes go again with the next claim.
      this.unrecorded.push(...batch.map((f) => f.outcome));
      const doing = this.unrecorded.length > 0 ? 'record a delivery outcome' : 'deliver queued writes';
      this.storageTrouble(error, doing);
      await this.settleBatch(batch, []);
      return;
    }
    await this.settleBatch(batch, recorded);
    if (!this.active) return;
    try {
      if (this.drains.size > 0) await this.settleDrainsIfIdle(served, nextDueAt);
      this.scheduleNextPump(nextDueAt);
    } catch (error) {
      this.storageTrouble(error, 'deliver queued writes');
    }
  }

  /** Writes the outcomes that could not be written before (they go first), then these; claims up to `limit`. */
  private async exchange(
    outcomes: DeliveryOutcome[],
    limit: number,
    serve: (recorded: Destination[]) => ServedDestination[],
    gates: Array<(destinationId: number, fn: string) => boolean>,
  ): Promise<ClaimResult> {
    if (limit === 0 && outcomes.length === 0 && this.unrecorded.length === 0)
      return { recorded: [], jobs: [], nextDueAt: null };
    const claimed = await this.storage.claim({
      owner: this.owner,
      outcomes: [...this.unrecorded, ...outcomes],
      limit,
      now: this.now(),
      leaseMs: this.leaseMs,
      maxInterruptions: this.maxInterruptions,
      serve,
      gates,
    });
    this.unrecorded = [];
    return claimed;
  }

  /** The batch's jobs leave the in-flight set (`recorded[i]` false: not ours any more, or not written). */
  private async settleBatch(batch: Finished[], recorded: boolean[]): Promise<void> {
    const outcomes = batch.map((f, i): [number, LocalOutcome] => [f.job.id, recorded[i] ? f.local : 'lost']);
    for (const { job } of batch) {
      this.inFlight.get(job.id)?.settle();
      this.inFlight.delete(job.id);
    }
    if (this.inFlight.size === 0 && this.leaseTimer) {
      clearInterval(this.leaseTimer);
      this.leaseTimer = undefined;
    }
    for (const [id, outcome] of outcomes) await this.afterOutcome(id, outcome);
  }

  /**
   * Another process held the write lock past the busy timeout: try again after a pause. Anything else (disk full,
   * a damaged or vanished file, an unreachable database) is reported at once, not retried in silence.
   */
  private storageTrouble(error: unknown, doing: string): void {
    if (this.storage.isTransient(error)) {
      if (this.active) this.armPumpTimer(this.pollIntervalMs);
    } else this.failStorage(this.storage.failure(doing, error));
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
  private scheduleNextPump(nextDueAt: number | null): void {
    if (!this.active || this.delivering >= this.concurrency) return;
    const now = this.now();
    if (nextDueAt !== null && nextDueAt > now) {
      this.armPumpTimer(Math.min(nextDueAt - now, this.pollIntervalMs));
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
    this.delivering++;
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    this.inFlight.set(job.id, { settled, settle });
    void this.deliver(job).then((finished) => {
      this.delivering--;
      const left = (this.lanes.get(lane) ?? 1) - 1;
      if (left > 0) this.lanes.set(lane, left);
      else this.lanes.delete(lane);
      this.finished.push(finished);
      this.wake();
    });
    if (!this.leaseTimer) {
      const every = Math.max(1, Math.floor(this.leaseMs / 3));
      this.leaseTimer = setInterval(() => {
        this.storage.renewLeases(this.owner, this.now() + this.leaseMs).catch(() => {
          // Busy or I/O error: the next tick tries again; the lease has two more thirds to go.
        });
      }, every);
      this.leaseTimer.unref();
    }
  }

  /** Sends the job; resolves with its outcome, to be recorded (never rejects). */
  private async deliver(job: OutboxJob): Promise<Finished> {
    let result: unknown;
    try {
      result = await this.deliverFn(job);
    } catch (error) {
      return this.failed(job, error);
    }
    return {
      job,
      outcome: { kind: 'delivered', job, result: serialiseResult(result), now: this.now() },
      local: 'delivered',
    };
  }

  private failed(job: OutboxJob, error: unknown): Finished {
    const verdict = classifyFailure(error);
    const now = this.now();
    if (verdict.pauseDestination) {
      const pause = { baseMs: this.pauseMs, maxMs: Math.max(this.maxDelayMs, this.pauseMs) };
      const atLeast = now + (verdict.retryAfterMs ?? 0);
      return {
        job,
        outcome: { kind: 'paused', job, error: verdict.message, pause, atLeast, now },
        local: 'paused',
      };
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
    return {
      job,
      outcome: {
        kind: 'failed',
        job,
        state: dead ? 'dead' : 'pending',
        error: verdict.message,
        nextAttemptAt,
        now,
      },
      local: dead ? 'dead' : 'retry',
    };
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

  private async afterOutcome(id: number, outcome: LocalOutcome): Promise<void> {
    if (this.drains.size > 0) {
      let pending: number;
      try {
        pending = await this.pendingForProgress(outcome);
      } catch (error) {
        this.failStorage(this.storage.failure('count queued writes', error));
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
        if (!waiter.ids.settle(id)) continue;
        reportProgress(waiter);
        if (waiter.ids.size === 0) void this.finishWaiter(waiter);
      }
    }
    // A pause settles every waiting job of that destination; a dead job may leave the ones behind it stuck.
    if (outcome === 'paused' || outcome === 'dead') await this.checkWaiters();
  }

  /**
   * What is left, for progress reports: counted again at most every 250 ms and otherwise kept up to date by this
   * process's own outcomes. Counting after every delivery made a drain's cost grow with the square of the backlog.
   */
  private async pendingForProgress(outcome: LocalOutcome): Promise<number> {
    if (![...this.drains].some((run) => run.onProgress)) return 0;
    const now = performance.now();
    if (this.progressCount === undefined || now - this.progressCount.at > 250) {
      this.progressCount = { at: now, pending: this.progressCount?.pending ?? 0 };
      const served = await (await this.opened).served();
      this.progressCount.pending = await this.storage.activeCount(this.servedIds(served));
    } else if (outcome === 'delivered' || outcome === 'dead') {
      this.progressCount.pending = Math.max(0, this.progressCount.pending - 1);
    }
    return this.progressCount.pending;
  }

  /** Drains end when nothing of this process's destinations is sending, due, or waiting for a backoff. */
  private async settleDrainsIfIdle(served: ServedDestination[], nextDueAt: number | null): Promise<void> {
    if (this.inFlight.size > 0 || nextDueAt !== null) return;
    if ((await this.storage.sendingCount(this.servedIds(served))) > 0) return;
    // A delivery launched meanwhile (by no one: claims run one at a time) would have to be waited for.
    if (this.inFlight.size > 0) return;
    await Promise.all([...this.drains].map((run) => this.finishDrain(run)));
  }

  private async finishDrain(run: DrainRun): Promise<void> {
    if (!this.drains.delete(run)) return;
    if (run.deadline) clearTimeout(run.deadline);
    if (!this.active) this.clearPumpTimer();
    try {
      const served = await (await this.opened).served();
      const pending = await this.storage.activeCount(this.servedIds(served));
      run.resolve({ delivered: run.delivered, dead: run.dead, pending });
    } catch (error) {
      run.reject(this.storage.failure('count queued writes', error));
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
  private async stuck(destinationIds: Iterable<number>): Promise<boolean> {
    return !(await this.storage.hasWork([...new Set(destinationIds)]));
  }

  /** Jobs may be finished by other processes: look now and then while someone waits. */
  private ensureWaitPoll(): void {
    if (this.waitPollTimer) return;
    this.waitPollTimer = setInterval(() => void this.checkWaiters(), this.pollIntervalMs);
  }

  /** One look at a time; a look asked for during one runs again right after it. */
  private async checkWaiters(): Promise<void> {
    if (this.checkingWaiters) {
      this.checkWaitersAgain = true;
      return;
    }
    this.checkingWaiters = true;
    try {
      do {
        this.checkWaitersAgain = false;
        await this.checkEachWaiter();
      } while (this.checkWaitersAgain && this.waiters.size > 0);
    } finally {
      this.checkingWaiters = false;
    }
  }

  private async checkEachWaiter(): Promise<void> {
    for (const waiter of [...this.waiters]) {
      let done: boolean;
      try {
        done = await this.look(waiter);
      } catch (error) {
        if (!this.storage.isTransient(error))
          this.failStorage(this.storage.failure('read queued writes', error));
        return;
      }
      if (done) await this.finishWaiter(waiter);
    }
  }

  /**
   * Settles the waited ids that are no longer open; true when the wait is over. Only the jobs still open among the
   * open ids' range are read (a wait for 100k ids read every one of them each second, 3 s a time): any other
   * waited id is delivered, dead, discarded or purged, so settled.
   */
  private async look(waiter: Waiter): Promise<boolean> {
    const bounds = waiter.ids.openBounds();
    if (bounds === undefined) return true;
    const now = this.now();
    // A page at a time: an import's wait can have its whole backlog open, and memory stays flat in its size.
    const openDestinations = new Set<number>();
    let settled = 0;
    for (let from = bounds.min; from <= bounds.max; ) {
      const page = await this.storage.openJobs(from, bounds.max, LOOK_PAGE);
      const to = page.length < LOOK_PAGE ? bounds.max : (page.at(-1) as OpenJob).id;
      const open = page.filter(
        (o) =>
          waiter.ids.isOpen(o.id) &&
          !(o.state === 'pending' && o.pausedUntil !== null && o.pausedUntil > now),
      );
      settled += waiter.ids.settleAllBut(
        open.map((o) => o.id),
        from,
        to,
      );
      for (const o of open) openDestinations.add(o.destinationId);
      from = to + 1;
    }
    if (settled > 0) reportProgress(waiter);
    return waiter.ids.size === 0 || (await this.stuck(openDestinations));
  }

  private async finishWaiter(waiter: Waiter): Promise<void> {
    if (!this.waiters.delete(waiter)) return;
    if (waiter.timeout) clearTimeout(waiter.timeout);
    this.stopWaitPollIfIdle();
    try {
      // The last look may have read a job as open just before it settled (another drainer's delivery between two
      // reads): the final report counts what is returned, so the two never disagree.
      await waiter.conclude();
    } catch (error) {
      waiter.reject(this.storage.failure('read queued writes', error));
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
        `${operation}: this outbox is closed; open a new Outbox on the file or database.`,
      );
    }
  }
}

const laneOf = (destinationId: number, fn: string): string => `${destinationId}\n${fn}`;

/** Tells the waiter's listener how many are settled when that number grew (`settled`: counted by a final read). */
function reportProgress(waiter: Waiter, settled = waiter.ids.total - waiter.ids.size): void {
  if (settled <= waiter.reported) return;
  waiter.reported = settled;
  try {
    waiter.onProgress?.(settled, waiter.ids.total);
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
function ordered(ids: number[], outcomes: StoredOutcome[]): JobOutcome[] {
  const byId = new Map(outcomes.map((outcome) => [outcome.id, withoutDestination(outcome)]));
  return ids.map((id) => byId.get(id) ?? { id, state: 'delivered' });
}

const withoutDestination = ({ destinationId: _destination, ...outcome }: StoredOutcome): JobOutcome =>
  outcome;
