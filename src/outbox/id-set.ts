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

  /** Settles every open id that is not among `stillOpen`; returns how many it settled. */
  settleAllBut(stillOpen: Iterable<number>): number {
    const keep = Float64Array.from(stillOpen).sort();
    let k = 0;
    let settled = 0;
    for (let i = this.low; i < this.high; i++) {
      if (this.open[i] === 0) continue;
      const id = this.ids[i] as number;
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

  private indexOf(id: number): number {
    let lo = 0;
    let hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = this.ids[mid] as number;
      if (value === id) return mid;
      if (value < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
