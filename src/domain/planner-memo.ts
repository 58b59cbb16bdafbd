// What the planner has proven during one pass: per shape and walltime, where each node cannot fit yet.

import type { NodeTimeline } from "./node-timeline.ts";
import type { GroupShape } from "./resource-shape.ts";

const INF = Number.POSITIVE_INFINITY;

/**
 * A row, for one (shape, walltime, cores variant): for each candidate j, "no fit starts in
 * [from, lb[j])". Why it stays true for the whole pass: allocations are only added, so fits only
 * disappear; and moving `from` forward keeps it true. Resuming scans at lb means each node's
 * Gantt row is read about once per shape instead of once per job: what makes 100k jobs cheap.
 * The heap orders candidates by lb, so a search visits only nodes near the frontier.
 */
export interface FitRow {
  from: number;
  lb: Float64Array;
  heap: Int32Array | null;
  size: number;
}

/** Rows kept per pass (each is a few KiB: a bound and a heap slot per candidate node). */
export const MAX_ROWS = 4096;

export class FitMemo {
  private count = 0;
  private readonly rows = new Map<GroupShape, Map<number, Map<number, FitRow>>>();

  /**
   * The row for a search from `from`. `advance`: the caller's searches for this row start at
   * non-decreasing times (a job's own lower bound), so the row may move to `from`; going back
   * resets it. Otherwise (retries at t + 1, `+` groups) the row is only read, and written where
   * a scan is contiguous with it; null when `from` is before the row (nothing proven there).
   */
  row(s: GroupShape, w: number, variant: number, from: number, advance: boolean): FitRow | null {
    let byW = this.rows.get(s);
    if (!byW) {
      byW = new Map();
      this.rows.set(s, byW);
    }
    let byVariant = byW.get(w);
    if (!byVariant) {
      byVariant = new Map();
      byW.set(w, byVariant);
    }
    let r = byVariant.get(variant);
    if (!r) {
      // Why a cap: with every walltime different, rows are used once each; storing them all
      // cost a gigabyte on 100k jobs. Past the cap, searches use a throwaway row.
      if (this.count >= MAX_ROWS) return null;
      this.count++;
      r = { from, lb: new Float64Array(s.candidates.length).fill(from), heap: null, size: 0 };
      byVariant.set(variant, r);
      return r;
    }
    if (from >= r.from) {
      if (advance) r.from = from;
      return r;
    }
    if (!advance) return null;
    r.from = from;
    r.lb.fill(from);
    r.heap = null;
    return r;
  }
}

/** A throwaway row for searches the memo cannot serve. */
export const freshRow = (s: GroupShape, from: number): FitRow => ({
  from,
  lb: new Float64Array(s.candidates.length).fill(from),
  heap: null,
  size: 0,
});

export function heapPush(r: FitRow, j: number): void {
  const h = r.heap!;
  const lb = r.lb;
  let i = r.size++;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (lb[h[p]!]! <= lb[j]!) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = j;
}

export function heapPop(r: FitRow): number {
  const h = r.heap!;
  const lb = r.lb;
  const top = h[0]!;
  const last = h[--r.size]!;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= r.size) break;
    if (c + 1 < r.size && lb[h[c + 1]!]! < lb[h[c]!]!) c++;
    if (lb[h[c]!]! >= lb[last]!) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = last;
  return top;
}

/**
 * Earliest fit of candidate j from `t` (>= row.from), not after `bound`, resuming at its bound.
 * The row learns the result only when the scan is contiguous with what it proved: it started at
 * or before max(lb, row.from). (A retry from t + 1 over a gap would otherwise claim too much:
 * the brute-force earliest-slot test caught exactly that.)
 */
export function scan(
  tl: NodeTimeline,
  row: FitRow,
  j: number,
  t: number,
  cores: number,
  w: number,
  bound: number,
): number {
  const lb = row.lb;
  const known = Math.max(lb[j]!, row.from);
  const start = Math.max(t, known);
  if (start > bound) return INF;
  const e = tl.earliestFit(start, cores, w, bound);
  if (start <= known) lb[j] = e !== INF ? e : bound === INF ? INF : bound + 1;
  return e;
}
