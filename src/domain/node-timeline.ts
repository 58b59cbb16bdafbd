// One node's free cores over time: a step function the planner reads and fills (its Gantt row).

/**
 * Segment i covers [times[i], times[i+1]) with free[i] free cores; the last segment runs forever
 * and, since every allocation ends, always has all cores free. Times are integer seconds.
 */
export class NodeTimeline {
  readonly cores: number;
  times: number[];
  free: number[];
  /** The last index found (a search hint; any value is safe). */
  private last = 0;

  constructor(start: number, cores: number) {
    this.cores = cores;
    this.times = [start];
    this.free = [cores];
  }

  clone(): NodeTimeline {
    const c = new NodeTimeline(this.times[0]!, this.cores);
    c.times = this.times.slice();
    c.free = this.free.slice();
    return c;
  }

  /** Index of the segment holding `t` (t at or after the first time). */
  index(t: number): number {
    const times = this.times;
    // Queries cluster around the Gantt's frontier: try the last answer and its successor first.
    const c = this.last;
    if (c < times.length && times[c]! <= t) {
      if (c + 1 >= times.length || times[c + 1]! > t) return c;
      if (c + 2 >= times.length || times[c + 2]! > t) {
        this.last = c + 1;
        return this.last;
      }
    }
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    this.last = lo;
    return lo;
  }

  /** Fewest free cores over [t, end). */
  minFree(t: number, end: number): number {
    const { times, free } = this;
    let i = this.index(t);
    let m = free[i]!;
    for (i++; i < times.length && times[i]! < end; i++) if (free[i]! < m) m = free[i]!;
    return m;
  }

  /** The time after which the node is wholly free. */
  lastChange(): number {
    return this.times[this.times.length - 1]!;
  }

  /**
   * Earliest t >= from at which `cores` stay free for `duration`, or Infinity when that is later
   * than `bound`. Why this is fast: a failing window restarts right after the segment that broke
   * it, so every segment is looked at at most twice.
   */
  earliestFit(from: number, cores: number, duration: number, bound: number): number {
    const { times, free } = this;
    const n = times.length;
    let i = this.index(from);
    let t = from;
    for (;;) {
      while (free[i]! < cores) {
        i++;
        if (i >= n) return Number.POSITIVE_INFINITY;
        t = times[i]!;
        if (t > bound) return Number.POSITIVE_INFINITY;
      }
      if (t > bound) return Number.POSITIVE_INFINITY;
      const end = t + duration;
      let j = i + 1;
      while (j < n && times[j]! < end && free[j]! >= cores) j++;
      if (j >= n || times[j]! >= end) return t;
      i = j;
      t = times[j]!;
    }
  }

  /** Make `t` a segment boundary; returns its index. */
  private split(t: number): number {
    const i = this.index(t);
    if (this.times[i] === t) return i;
    this.times.splice(i + 1, 0, t);
    this.free.splice(i + 1, 0, this.free[i]!);
    return i + 1;
  }

  /** Take `cores` over [start, end); the caller has checked they are free. */
  allocate(start: number, end: number, cores: number): void {
    if (cores > 0) this.shift(start, end, -cores);
  }

  /** Give back `cores` over [start, end) (a job taken earlier ended sooner). */
  release(start: number, end: number, cores: number): void {
    if (cores > 0) this.shift(start, end, cores);
  }

  private shift(start: number, end: number, delta: number): void {
    if (end <= start) return;
    const from = Math.max(start, this.times[0]!);
    if (end <= from) return;
    const a = this.split(from);
    const b = this.split(end);
    for (let i = a; i < b; i++) this.free[i] = this.free[i]! + delta;
    // Why merge equal neighbours: a filled Gantt is long runs of the same free count (often 0);
    // one segment per run keeps every scan short. Only the two edges can have become equal.
    if (b < this.times.length && this.free[b] === this.free[b - 1]) this.remove(b);
    if (a > 0 && this.free[a] === this.free[a - 1]) this.remove(a);
  }

  private remove(i: number): void {
    this.times.splice(i, 1);
    this.free.splice(i, 1);
  }
}
