import { isBusy, OutboxError, storageError } from '../errors.js';
import type { IdRange } from '../id-set.js';
import type { LockOwner } from '../liveness.js';
import type {
  ClaimRequest,
  ClaimResult,
  DestinationCounts,
  DestinationRow,
  NewJob,
  OpenJob,
  OutboxStorage,
  StateCounts,
  StoredOutcome,
} from '../storage.js';
import type { Destination, HeldJob, OutboxErrorEntry, OutboxState } from '../types.js';
import { OutboxStore } from './store.js';

/**
 * The outbox in one SQLite file (the default): the synchronous OutboxStore behind the async storage interface.
 * Each call runs to completion before it returns, as better-sqlite3 does; other processes on the file are found
 * by the Outbox's poll (SQLite has no change notifications across processes).
 */
export class SqliteStorage implements OutboxStorage {
  readonly label: string;
  private readonly store: OutboxStore;

  /** Opens (and checks, and migrates) the file now: a damaged or newer file is refused before anything else. */
  constructor(file: string, synchronous: 'normal' | 'full') {
    this.label = file;
    this.store = new OutboxStore(file, synchronous);
  }

  async fingerprintKey(): Promise<string> {
    return this.store.fingerprintKey();
  }

  async destinationId(row: DestinationRow, now: number): Promise<number> {
    return this.store.destinationId(row, now);
  }

  async destinations(): Promise<Destination[]> {
    return this.store.destinations();
  }

  async insert(job: NewJob): Promise<number> {
    return this.store.insert(job);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.store.claim(request);
  }

  async renewLeases(owner: LockOwner, lockedUntil: number): Promise<void> {
    this.store.renewLeases(owner, lockedUntil);
  }

  async sendingCount(destinationIds: number[]): Promise<number> {
    return this.store.sendingCount(destinationIds);
  }

  async activeCount(destinationIds: number[]): Promise<number> {
    return this.store.activeCount(destinationIds);
  }

  async hasWork(destinationIds: number[]): Promise<boolean> {
    return this.store.sendingCount(destinationIds) > 0 || this.store.nextDueAt(destinationIds) !== null;
  }

  async held(): Promise<HeldJob[]> {
    return this.store.held().map((row) => ({ ...row, keys: JSON.parse(row.keys) as string[] }));
  }

  async counts(): Promise<Record<OutboxState, number>> {
    return this.store.counts();
  }

  async oldestActiveCreatedAt(): Promise<number | null> {
    return this.store.oldestActiveCreatedAt();
  }

  async lastErrors(): Promise<OutboxErrorEntry[]> {
    return this.store.lastErrors();
  }

  async destinationCounts(): Promise<DestinationCounts[]> {
    return this.store.destinationCounts();
  }

  async outcomes(ids: number[]): Promise<StoredOutcome[]> {
    return this.store.outcomes(ids);
  }

  async countStates(ranges: IdRange[], now: number): Promise<StateCounts> {
    return this.store.countStates(ranges, now);
  }

  async undelivered(ranges: IdRange[], limit: number): Promise<StoredOutcome[]> {
    return this.store.undelivered(ranges, limit);
  }

  async openJobs(min: number, max: number, limit: number): Promise<OpenJob[]> {
    return this.store.openJobs(min, max, limit);
  }

  async stateOf(id: number): Promise<OutboxState | undefined> {
    return this.store.stateOf(id);
  }

  async deadIds(limit: number): Promise<number[]> {
    return this.store.deadIds(limit);
  }

  async retryOne(id: number, now: number): Promise<number> {
    return this.store.retryOne(id, now);
  }

  async retryDead(now: number): Promise<number> {
    return this.store.retryDead(now);
  }

  async discardOne(id: number, now: number): Promise<number> {
    return this.store.discardOne(id, now);
  }

  async discardDead(now: number): Promise<number> {
    return this.store.discardDead(now);
  }

  async move(from: number, to: Destination, now: number): Promise<number> {
    return this.store.move(from, to, now);
  }

  async purgeDelivered(before: number): Promise<number> {
    return this.store.purgeDelivered(before);
  }

  onChange(): void {
    // No signal across processes in SQLite: the Outbox's poll finds their changes.
  }

  isTransient(error: unknown): boolean {
    return isBusy(error);
  }

  failure(doing: string, error: unknown) {
    return error instanceof OutboxError ? error : storageError(this.label, doing, error);
  }

  async close(): Promise<void> {
    this.store.close();
  }
}
