// Earliest-start search over the Gantt (one NodeTimeline per node) and placement at a given time.

import type { NodeTimeline } from "./node-timeline.ts";
import { type FitMemo, type FitRow, freshRow, heapPop, heapPush, scan } from "./planner-memo.ts";
import type { GroupShape } from "./resource-shape.ts";

/** Cores a job takes on one node (`node` indexes the planner's node list). */
export interface Take {
  node: number;
  cores: number;
}

const INF = Number.POSITIVE_INFINITY;
const ONE: readonly number[] = [0];
/** Scratch for earliestOne (not re-entrant, and the pass is synchronous): no array per job. */
const POPPED: number[] = [];

/** Nodes a `nodes`-mode group needs at once (BEST needs one to start). */
const nodesWanted = (s: GroupShape): number =>
  s.count === "ALL" ? s.candidates.length : s.count === "BEST" ? 1 : s.count;

/**
 * Earliest t >= from at which the group alone fits, or Infinity. `advance`: `from` is this job's
 * own lower bound (see FitMemo.row).
 * Nodes mode, k nodes: let e_n be node n's earliest fit from T; the k-th smallest e_n is a lower
 * bound of the answer (every node fitting at the answer has e_n <= it). If k nodes fit there it is
 * the answer, else the answer is later: retry from there + 1 s. Within one search, an e_n still
 * ahead of T stays exact and is not rescanned.
 */
export function earliestAlone(
  tls: readonly NodeTimeline[],
  s: GroupShape,
  from: number,
  w: number,
  memo: FitMemo,
  advance: boolean,
  hint?: number[],
): number {
  const cands = s.candidates;
  const need = s.need;
  const m = cands.length;
  if (hint) hint.length = 0;
  if (m === 0) return INF;
  if (s.mode === "units") return earliestUnits(tls, s, from, w, memo, advance);
  const k = nodesWanted(s);
  if (k > m) return INF;
  const row = memo.row(s, w, 1, from, advance) ?? freshRow(s, from);
  if (k === 1) return earliestOne(tls, cands, need, 1, row, from, w);
  return earliestK(tls, cands, need, k, row, from, w, hint ?? []);
}

function ensureHeap(
  tls: readonly NodeTimeline[],
  cands: readonly number[],
  need: readonly number[],
  mult: number,
  row: FitRow,
): void {
  if (row.heap) return;
  row.heap = new Int32Array(cands.length);
  row.size = 0;
  for (let j = 0; j < cands.length; j++) if (need[j]! * mult <= tls[cands[j]!]!.cores) heapPush(row, j);
}

/**
 * k nodes at once. Nodes leave the heap in order of their bound and get their exact earliest fit
 * from T; once the k-th smallest of those is no later than every remaining bound, it is a lower
 * bound of the answer (every node fitting at the answer fits there or earlier). If k nodes fit
 * at it, done; else retry from there + 1 s, rescanning only the nodes whose fit fell behind.
 * `hint` receives the nodes that fit at the answer.
 */
function earliestK(
  tls: readonly NodeTimeline[],
  cands: readonly number[],
  need: readonly number[],
  k: number,
  row: FitRow,
  from: number,
  w: number,
  hint: number[],
): number {
  ensureHeap(tls, cands, need, 1, row);
  const lb = row.lb;
  const act: number[] = [];
  const ex: number[] = [];
  // The k smallest fits among active nodes, ascending.
  const top: number[] = [];
  const offer = (e: number): void => {
    if (top.length === k && e >= top[k - 1]!) return;
    let p = top.length < k ? top.length : k - 1;
    if (top.length < k) top.push(e);
    while (p > 0 && top[p - 1]! > e) {
      top[p] = top[p - 1]!;
      p--;
    }
    top[p] = e;
  };
  const done = (t: number): number => {
    for (const j of act) heapPush(row, j);
    return t;
  };
  let T = from;
  for (;;) {
    top.length = 0;
    for (let i = 0; i < act.length; i++) {
      if (ex[i]! < T) ex[i] = scan(tls[cands[act[i]!]!]!, row, act[i]!, T, need[act[i]!]!, w, INF);
      offer(ex[i]!);
    }
    for (;;) {
      const kth = top.length < k ? INF : top[k - 1]!;
      if (row.size === 0 || kth <= Math.max(lb[row.heap![0]!]!, T)) break;
      const j = heapPop(row);
      act.push(j);
      const e = scan(tls[cands[j]!]!, row, j, T, need[j]!, w, INF);
      ex.push(e);
      offer(e);
    }
    const kth = top.length < k ? INF : top[k - 1]!;
    if (kth === INF) return done(INF);
    hint.length = 0;
    for (let i = 0; i < act.length; i++) {
      const j = act[i]!;
      if (ex[i] === kth || (ex[i]! < kth && tls[cands[j]!]!.minFree(kth, kth + w) >= need[j]!)) hint.push(j);
    }
    if (hint.length >= k) return done(kth);
    T = kth + 1;
  }
}

/**
 * Earliest time one candidate fits need[j] * mult cores. Why a heap: candidates are visited in
 * order of their bound and the walk stops at the first bound past the best fit found, so a job
 * touches only the few nodes near the Gantt's frontier instead of all of them.
 */
function earliestOne(
  tls: readonly NodeTimeline[],
  cands: readonly number[],
  need: readonly number[],
  mult: number,
  row: FitRow,
  from: number,
  w: number,
): number {
  const lb = row.lb;
  ensureHeap(tls, cands, need, mult, row);
  let best = INF;
  const popped = POPPED;
  popped.length = 0;
  while (row.size > 0) {
    const j = row.heap![0]!;
    if (Math.max(lb[j]!, from) >= best) break;
    heapPop(row);
    popped.push(j);
    // Unbounded on purpose: an exact bound keeps this node out of the next jobs' walks until
    // the frontier reaches it, where a bounded scan would be redone by each of them.
    const e = scan(tls[cands[j]!]!, row, j, from, need[j]! * mult, w, INF);
    if (e < best) best = e;
  }
  for (const j of popped) heapPush(row, j);
  return best;
}

/** Units mode: the earlier of "one node holds all units" and "several nodes together do". */
function earliestUnits(
  tls: readonly NodeTimeline[],
  s: GroupShape,
  from: number,
  w: number,
  memo: FitMemo,
  advance: boolean,
): number {
  const cands = s.candidates;
  const need = s.need;
  const m = cands.length;
  const units = typeof s.count === "number" ? s.count : 1;
  const rowAll = memo.row(s, w, units, from, advance) ?? freshRow(s, from);
  const single = earliestOne(tls, cands, need, units, rowAll, from, w);
  if (single === from || units === 1) return single;
  // Several nodes. When one node can hold the job later, spreading is tried only to start now
  // (`from` is now): why not at every moment a core frees up before `single`: in a fragmented
  // Gantt that is every event, each costing a pass over all nodes, and spreading a job over
  // fragments is worth it to use idle cores now, not to book fragments in the future. When no
  // node is big enough, every moment a unit frees up is tried until the units add up.
  const now = tls[cands[0]!]!.times[0]!; // every timeline starts at the pass's now
  if (single !== INF) return from === now && unitsAt(tls, s, from, w, units) ? from : single;
  let capacity = 0;
  for (let j = 0; j < m; j++) capacity += Math.floor(tls[cands[j]!]!.cores / need[j]!);
  if (capacity < units) return INF;
  const row = memo.row(s, w, 1, from, advance) ?? freshRow(s, from);
  let T = from;
  for (;;) {
    const t1 = earliestOne(tls, cands, need, 1, row, T, w);
    if (t1 === INF) return INF;
    if (unitsAt(tls, s, t1, w, units)) return t1;
    T = t1 + 1;
  }
}

/** Whether the candidates together have `units` units free over [t, t + w). */
function unitsAt(tls: readonly NodeTimeline[], s: GroupShape, t: number, w: number, units: number): boolean {
  let total = 0;
  for (let j = 0; j < s.candidates.length && total < units; j++) {
    const tl = tls[s.candidates[j]!]!;
    const need = s.need[j]!;
    // Most nodes are full at t in a loaded Gantt: one lookup rejects them.
    if (tl.free[tl.index(t)]! < need) continue;
    total += Math.floor(tl.minFree(t, t + w) / need);
  }
  return total >= units;
}

/**
 * Place every group at `t` for `w` seconds, or null. `reserved[n]` cores of node n are unusable
 * (besteffort jobs running now, when placing besteffort). Choices: best fit (least free cores
 * left), then fewer reserved cores, then node order; groups are placed one after the other, so a
 * greedy choice may miss a joint fit that a smarter one would find (the search then tries later).
 */
export function placeAt(
  tls: readonly NodeTimeline[],
  shapes: readonly GroupShape[],
  t: number,
  w: number,
  reserved?: Int32Array,
  memo?: FitMemo,
  avoid?: Int32Array,
  hint?: readonly number[],
): Take[][] | null {
  // Tie-breaks prefer nodes with fewer besteffort cores (fewer kills), then the best fit.
  const pen = avoid ?? reserved;
  const used = new Map<number, number>();
  const out: Take[][] = new Array(shapes.length);
  // The most constrained group is placed first (fewer joint misses); results keep request order,
  // so the first group's first node stays the head node.
  const order =
    shapes.length === 1
      ? ONE
      : shapes.map((_, i) => i).sort((a, b) => shapes[a]!.candidates.length - shapes[b]!.candidates.length);
  for (const gi of order) {
    const s = shapes[gi]!;
    const takes: Take[] = [];
    if (s.mode === "nodes") {
      // A one-group search already knows which candidates fit at t: the hint.
      const avail = available(
        tls,
        s,
        t,
        w,
        used,
        reserved,
        memo?.row(s, w, 1, t, false),
        1,
        shapes.length === 1 ? hint : undefined,
      );
      const k = nodesWanted(s);
      if (avail.length < k) return null;
      avail.sort(
        (a, b) => rsv(pen, a, b) || a.free - s.need[a.j]! - (b.free - s.need[b.j]!) || a.node - b.node,
      );
      const n = s.count === "BEST" ? avail.length : k;
      for (let x = 0; x < n; x++) takes.push({ node: avail[x]!.node, cores: s.need[avail[x]!.j]! });
    } else if (!placeUnits(tls, s, t, w, used, takes, reserved, memo, pen)) return null;
    for (const tk of takes) used.set(tk.node, (used.get(tk.node) ?? 0) + tk.cores);
    out[gi] = takes;
  }
  return out;
}

/**
 * Candidates with at least `mult` units (of need[j] cores) free over [t, t+w), with their free
 * cores. Nodes whose memo row proves no such fit before a later time are skipped unread.
 */
function available(
  tls: readonly NodeTimeline[],
  s: GroupShape,
  t: number,
  w: number,
  used: Map<number, number>,
  reserved: Int32Array | undefined,
  row: FitRow | null | undefined,
  mult: number,
  hint?: readonly number[],
): { j: number; node: number; free: number }[] {
  const avail: { j: number; node: number; free: number }[] = [];
  const consider = (j: number): void => {
    const node = s.candidates[j]!;
    const want = s.need[j]! * mult;
    if (want > tls[node]!.cores) return;
    const free =
      tls[node]!.minFree(t, t + w) - (used.size > 0 ? (used.get(node) ?? 0) : 0) - (reserved?.[node] ?? 0);
    if (free >= want) avail.push({ j, node, free });
  };
  if (hint && hint.length > 0) {
    for (const j of hint) consider(j);
    return avail;
  }
  const lb = row?.lb;
  if (row?.heap && lb) {
    // Only the heap's top holds bounds <= t: walk it instead of every candidate.
    const h = row.heap;
    const stack = row.size > 0 ? [0] : [];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (lb[h[i]!]! > t) continue;
      consider(h[i]!);
      if (2 * i + 1 < row.size) stack.push(2 * i + 1);
      if (2 * i + 2 < row.size) stack.push(2 * i + 2);
    }
    // Heap order depends on bounds; keep the choice independent of it.
    avail.sort((a, b) => a.j - b.j);
    return avail;
  }
  for (let j = 0; j < s.candidates.length; j++) if (!lb || lb[j]! <= t) consider(j);
  return avail;
}

/** Units mode at t: one node if any holds every unit (the tightest), else the roomiest first. */
function placeUnits(
  tls: readonly NodeTimeline[],
  s: GroupShape,
  t: number,
  w: number,
  used: Map<number, number>,
  takes: Take[],
  reserved: Int32Array | undefined,
  memo: FitMemo | undefined,
  pen: Int32Array | undefined,
): boolean {
  const units = typeof s.count === "number" ? s.count : 1;
  const whole = available(tls, s, t, w, used, reserved, memo?.row(s, w, units, t, false), units);
  if (whole.length > 0) {
    let best = whole[0]!;
    for (const a of whole) {
      const d = rsv(pen, a, best) || a.free - s.need[a.j]! * units - (best.free - s.need[best.j]! * units);
      if (d < 0) best = a;
    }
    takes.push({ node: best.node, cores: units * s.need[best.j]! });
    return true;
  }
  const avail = available(tls, s, t, w, used, reserved, memo?.row(s, w, 1, t, false), 1);
  const unitsOf = (a: { j: number; free: number }) => Math.floor(a.free / s.need[a.j]!);
  avail.sort((a, b) => rsv(pen, a, b) || unitsOf(b) - unitsOf(a) || a.node - b.node);
  let left = units;
  for (const a of avail) {
    if (left === 0) break;
    const u = Math.min(left, unitsOf(a));
    takes.push({ node: a.node, cores: u * s.need[a.j]! });
    left -= u;
  }
  return left === 0;
}

const rsv = (reserved: Int32Array | undefined, a: { node: number }, b: { node: number }): number =>
  reserved ? reserved[a.node]! - reserved[b.node]! : 0;

/**
 * Earliest start >= from for all groups together: each group's own earliest bounds it below; at
 * the latest of those, try them jointly; on failure move one second on. Past `horizon` (when every
 * node is wholly free) nothing changes any more, so a failure there means never.
 */
export function earliestJob(
  tls: readonly NodeTimeline[],
  shapes: readonly GroupShape[],
  from: number,
  w: number,
  horizon: number,
  memo: FitMemo,
  avoid?: Int32Array,
): { start: number; takes: Take[][] } | null {
  let T = from;
  const hint: number[] = [];
  for (;;) {
    let tp = T;
    for (const s of shapes) {
      const e = earliestAlone(tls, s, T, w, memo, shapes.length === 1 && T === from, hint);
      if (e === INF) return null;
      if (e > tp) tp = e;
    }
    const takes = placeAt(tls, shapes, tp, w, undefined, memo, avoid, shapes.length === 1 ? hint : undefined);
    if (takes) return { start: tp, takes };
    if (tp >= horizon) return null;
    T = tp + 1;
  }
}
