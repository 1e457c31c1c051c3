/** Inclusive id ranges, `[first, last]` each, ascending and apart. */
export type IdRange = [number, number];

/**
 * The distinct ids a wait is for, and which of them are still open: sorted in a Float64Array, with one flag byte
 * each: 9 bytes an id (a Set of numbers takes 21), and an import waits for every row it queued.
 */
export class IdSet {
  private readonly ids: Float64Array;
  private readonly open: Uint8Array;
  /** Open ids lie at indexes from `low` to `high` (exclusive); both only close in. */
  private low = 0;
  private high: number;
  private openCount: number;

  constructor(ids: Iterable<number>) {
    const sorted = Float64Array.from(ids).sort();
    let distinct = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (i === 0 || sorted[i] !== sorted[distinct - 1]) sorted[distinct++] = sorted[i] as number;
    }
    this.ids = sorted.slice(0, distinct);
    this.open = new Uint8Array(distinct).fill(1);
    this.high = distinct;
    this.openCount = distinct;
  }

  /** How many distinct ids. */
  get total(): number {
    return this.ids.length;
  }

  /** How many of them are still open. */
  get size(): number {
    return this.openCount;
  }

  /** Marks an open id settled; false when it is not one of them or was settled already. */
  settle(id: number): boolean {
    const index = this.indexOf(id);
    if (index < 0 || this.open[index] === 0) return false;
    this.open[index] = 0;
    this.openCount--;
    this.closeIn();
    return true;
  }

  /** Whether the id is one of them and still open. */
  isOpen(id: number): boolean {
    const index = this.indexOf(id);
    return index >= 0 && this.open[index] === 1;
  }

  /** The smallest and largest open ids, or undefined when none is open. */
  openBounds(): { min: number; max: number } | undefined {
    if (this.openCount === 0) return undefined;
    return { min: this.ids[this.low] as number, max: this.ids[this.high - 1] as number };
  }

  /**
   * Settles every open id from `from` to `to` (inclusive; by default all) that is not among `stillOpen`; returns how
   * many it settled.
   */
  settleAllBut(
    stillOpen: Iterable<number>,
    from = Number.NEGATIVE_INFINITY,
    to = Number.POSITIVE_INFINITY,
  ): number {
    const keep = Float64Array.from(stillOpen).sort();
    let k = 0;
    let settled = 0;
    for (let i = Math.max(this.low, this.firstAtLeast(from)); i < this.high; i++) {
      const id = this.ids[i] as number;
      if (id > to) break;
      if (this.open[i] === 0) continue;
      while (k < keep.length && (keep[k] as number) < id) k++;
      if (keep[k] === id) continue;
      this.open[i] = 0;
      settled++;
    }
    this.openCount -= settled;
    this.closeIn();
    return settled;
  }

  /** All the ids (open or not) as runs of consecutive ids: one range for the rows of one import. */
  ranges(): IdRange[] {
    const ranges: IdRange[] = [];
    for (const id of this.ids) {
      const last = ranges.at(-1);
      if (last !== undefined && last[1] === id - 1) last[1] = id;
      else ranges.push([id, id]);
    }
    return ranges;
  }

  private closeIn(): void {
    while (this.low < this.high && this.open[this.low] === 0) this.low++;
    while (this.high > this.low && this.open[this.high - 1] === 0) this.high--;
  }

  /** The index of the first id at or above `id` (the length when there is none). */
  private firstAtLeast(id: number): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ids[mid] as number) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexOf(id: number): number {
    const index = this.firstAtLeast(id);
    return this.ids[index] === id ? index : -1;
  }
}
