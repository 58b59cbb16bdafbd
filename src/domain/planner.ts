// The scheduler's pure core: one planning pass over the Gantt, with conservative backfilling.

import type { NodeInfo, PropertyValue } from "./node.ts";
import { NodeTimeline } from "./node-timeline.ts";
import { FitMemo } from "./planner-memo.ts";
import { earliestJob, placeAt, type Take } from "./planner-search.ts";
import type {
  JobPlan,
  JobStart,
  NodeCores,
  Plan,
  PlanInput,
  Preemption,
  RunningJob,
  WaitingJob,
} from "./planner-types.ts";
import { filterPropertiesOf, type GroupShape, groupShape } from "./resource-shape.ts";

/**
 * Round a walltime up to `steps` values per doubling (8: at most 12.5% more), as Slurm's
 * bf_resolution rounds times: fewer distinct walltimes let the planner reuse far more of what it
 * proved (see PlanInput.walltimeSteps).
 */
export function quantizeWalltime(w: number, steps: number): number {
  if (w <= steps) return w;
  const step = 2 ** Math.max(0, Math.floor(Math.log2(w)) - Math.floor(Math.log2(steps)));
  return Math.ceil(w / step) * step;
}

/**
 * Priority order: queue priority (higher first), then age (older first) where a user's recent
 * usage adds `weight * share` seconds (fair-share), then id. Exported for tests and the status API.
 */
export function priorityOrder(waiting: readonly WaitingJob[], fair?: PlanInput["fairShare"]): WaitingJob[] {
  let total = 0;
  if (fair && fair.weight > 0) for (const u of Object.values(fair.usage)) total += Math.max(0, u);
  const keyed = waiting.map((job) => {
    const share = total > 0 ? Math.max(0, fair!.usage[job.user] ?? 0) / total : 0;
    return { job, age: job.submittedAt + (fair?.weight ?? 0) * share };
  });
  keyed.sort((a, b) => b.job.queuePriority - a.job.queuePriority || a.age - b.age || a.job.id - b.job.id);
  return keyed.map((k) => k.job);
}

/** Planner state for one pass: the Gantt and caches valid while it only fills up. */
class Pass {
  readonly nodes: readonly NodeInfo[];
  readonly now: number;
  readonly tls: NodeTimeline[];
  readonly index = new Map<string, number>();
  readonly props: Record<string, PropertyValue>[];
  readonly filterCache = new Map<string, number[]>();
  readonly shapeCache = new Map<string, GroupShape>();
  /** Parsed requests are often shared (arrays, repeated submissions): skip rebuilding their keys. */
  readonly byGroup = new WeakMap<object, GroupShape>();
  /**
   * Why a per-shape lower bound is sound: within a pass allocations are only added, so the set of
   * feasible starts for a given shape and walltime only shrinks; the earliest start found for one
   * job is a lower bound for the next job of the same shape. This is what makes 100k jobs cheap.
   */
  readonly lowerBound = new Map<string, Float64Array>();
  /** Index of each distinct planning walltime, ascending (for the bounds' Fenwick trees). */
  readonly wIndex = new Map<number, number>();
  readonly steps: number;
  horizon: number;

  constructor(input: PlanInput) {
    this.nodes = input.nodes;
    this.now = input.now;
    this.tls = input.nodes.map((n) => new NodeTimeline(input.now, n.cores));
    input.nodes.forEach((n, i) => {
      this.index.set(n.uid, i);
    });
    this.props = input.nodes.map(filterPropertiesOf);
    this.steps = input.walltimeSteps ?? 0;
    const ws = [...new Set(input.waiting.map((j) => this.wt(j)))].sort((a, b) => a - b);
    ws.forEach((w, i) => {
      this.wIndex.set(w, i);
    });
    this.horizon = input.now;
  }

  shapesOf(job: WaitingJob): GroupShape[] {
    const shapes: GroupShape[] = [];
    for (const g of job.request.groups) {
      const known = this.byGroup.get(g);
      if (known) {
        shapes.push(known);
        continue;
      }
      const key = `${g.filter ?? ""}\u0000${g.levels.map((l) => `${l.type}=${l.count}`).join("/")}`;
      let s = this.shapeCache.get(key);
      if (!s) {
        s = groupShape(g, this.nodes, this.props, this.filterCache);
        this.shapeCache.set(key, s);
      }
      this.byGroup.set(g, s);
      shapes.push(s);
    }
    return shapes;
  }

  /** Identity of a request's shapes, for the lower-bound cache. */
  shapesKey(shapes: GroupShape[]): string {
    return shapes.length === 1 ? shapes[0]!.key : shapes.map((s) => s.key).join("\u0001");
  }

  /**
   * No job of these shapes can start before this. A longer walltime is harder to fit (its
   * feasible starts are a subset), so the bound found for any shorter walltime holds too: a
   * prefix maximum over walltimes, kept per shapes in a Fenwick tree over the pass's distinct
   * walltimes (bounds only grow, which is what a max-Fenwick tree supports).
   */
  boundOf(key: string, w: number): number {
    const tree = this.lowerBound.get(key);
    let t = this.now;
    if (!tree) return t;
    for (let i = this.wIndex.get(w)! + 1; i > 0; i -= i & -i) if (tree[i]! > t) t = tree[i]!;
    return t;
  }

  setBound(key: string, w: number, t: number): void {
    let tree = this.lowerBound.get(key);
    if (!tree) {
      tree = new Float64Array(this.wIndex.size + 1);
      this.lowerBound.set(key, tree);
    }
    for (let i = this.wIndex.get(w)! + 1; i < tree.length; i += i & -i) if (tree[i]! < t) tree[i] = t;
  }

  /** The walltime the plan reserves for a job (see PlanInput.walltimeSteps). */
  wt(job: WaitingJob): number {
    return this.steps ? quantizeWalltime(job.walltime, this.steps) : job.walltime;
  }

  allocate(start: number, w: number, takes: Take[][]): void {
    for (const group of takes) for (const t of group) this.tls[t.node]!.allocate(start, start + w, t.cores);
    if (start + w > this.horizon) this.horizon = start + w;
  }

  /** Takes as node names with cores, one entry per node, head node (first group's first) first. */
  named(takes: Take[][]): NodeCores[] {
    // One group: its nodes are distinct already.
    if (takes.length === 1) return takes[0]!.map((t) => ({ uid: this.nodes[t.node]!.uid, cores: t.cores }));
    const merged = new Map<number, number>();
    for (const group of takes) for (const t of group) merged.set(t.node, (merged.get(t.node) ?? 0) + t.cores);
    return [...merged].map(([i, cores]) => ({ uid: this.nodes[i]!.uid, cores }));
  }
}

const never = (s: GroupShape): boolean =>
  s.candidates.length === 0 ||
  (s.mode === "nodes" && typeof s.count === "number" && s.count > s.candidates.length);

/**
 * Plan one pass. Pure: the same input gives the same plan. Steps: running jobs fill the Gantt
 * (besteffort ones do not: they are preemptible); reservations take their slot; other jobs in
 * priority order each take their earliest slot that fits around everything placed before them
 * (conservative backfilling: a later job may start earlier only if it delays no job ahead of it);
 * besteffort jobs run now on what is idle now; besteffort jobs in the way of a start are preempted.
 */
export function plan(input: PlanInput): Plan {
  return planSession(input).plan;
}

/**
 * A plan plus its Gantt, kept so that a job submitted after the pass can start at once when it
 * fits in cores idle now through its whole walltime: no planned job uses those, so starting it
 * delays nobody, whatever its priority (the event-driven path: no full pass per submission).
 */
export interface PlanSession {
  plan: Plan;
  /**
   * Start `job` now if it fits in idle cores (besteffort cores are not taken: that would need
   * preemption) and is not held, blocked or reserved for later; the Gantt then holds it. Null:
   * leave it to the next full pass.
   */
  startNow(job: WaitingJob): JobStart | null;
  /** Hold the cores of a job started outside this plan, from now to its end (forced: no check). */
  add(job: RunningJob): void;
  /** A job this session holds cores for has ended: they are free again from now. */
  release(jobId: number): void;
}

/** `plan`, keeping the Gantt for `startNow`. */
export function planSession(input: PlanInput): PlanSession {
  const { now } = input;
  const pass = new Pass(input);
  const beRunning: RunningJob[] = [];
  for (const r of input.running) {
    if (r.besteffort) {
      beRunning.push(r);
      continue;
    }
    // A job past its walltime still holds its cores until it is reaped: at least one more second.
    const end = Math.max(r.startedAt + r.walltime, now + 1);
    for (const n of r.nodes) {
      const i = pass.index.get(n.uid);
      if (i !== undefined) pass.tls[i]!.allocate(now, end, n.cores);
    }
    if (end > pass.horizon) pass.horizon = end;
  }
  // What the session holds for each running or started job: to give it back when it ends early.
  const held = new Map<number, { end: number; besteffort: boolean; cores: [number, number][] }>();
  const hold = (
    id: number,
    end: number,
    besteffort: boolean,
    nodes: readonly { uid: string; cores: number }[],
  ) => {
    const cores: [number, number][] = [];
    for (const n of nodes) {
      const i = pass.index.get(n.uid);
      if (i !== undefined) cores.push([i, n.cores]);
    }
    held.set(id, { end, besteffort, cores });
  };
  for (const r of input.running)
    hold(r.id, Math.max(r.startedAt + r.walltime, now + 1), r.besteffort, r.nodes);
  const base = pass.tls.map((t) => t.clone());
  // Besteffort cores in use now, per node: normal jobs avoid them when they can.
  const beNow = new Int32Array(pass.nodes.length);
  for (const r of beRunning) {
    for (const n of r.nodes) {
      const i = pass.index.get(n.uid);
      if (i !== undefined) beNow[i] = beNow[i]! + n.cores;
    }
  }
  const baseHorizon = pass.horizon;
  const ordered = priorityOrder(input.waiting, input.fairShare);
  const result = new Map<number, JobPlan>();
  const starts: JobStart[] = [];
  const startedOn = new Map<number, number>(); // node index -> a job starting there now

  const record = (job: WaitingJob, start: number, takes: Take[][], reason: JobPlan["reason"]): void => {
    pass.allocate(start, pass.wt(job), takes);
    const nodes = pass.named(takes);
    if (start === now) {
      hold(job.id, now + pass.wt(job), false, nodes);
      starts.push({ id: job.id, nodes });
      for (const g of takes) for (const t of g) startedOn.set(t.node, job.id);
      result.set(job.id, { id: job.id, scheduledAt: now, reason: null, nodes });
    } else result.set(job.id, { id: job.id, scheduledAt: start, reason, nodes });
  };
  const unplaceable = (job: WaitingJob, reason: JobPlan["reason"], message: string): void => {
    result.set(job.id, { id: job.id, scheduledAt: null, reason, nodes: null, message });
  };

  // 1. Reservations, in order of their start: exactly at their time or not at all.
  const reservations = ordered
    .filter((j) => j.reservationAt != null && !j.hold && j.dependenciesMet !== false)
    .sort((a, b) => a.reservationAt! - b.reservationAt! || a.id - b.id);
  for (const job of reservations) {
    const at = Math.max(now, Math.floor(job.reservationAt!));
    const shapes = pass.shapesOf(job);
    const takes = shapes.some(never)
      ? null
      : placeAt(pass.tls, shapes, at, pass.wt(job), undefined, undefined, beNow);
    if (takes) record(job, at, takes, "reservation");
    else
      unplaceable(job, "reservation", "the reserved slot is not available (resources taken or unsuitable)");
  }

  // 2. Normal jobs in priority order, each at its earliest slot.
  const backfill = input.backfill !== false;
  let previousStart = now;
  const baseFit = new Map<string, Map<number, boolean>>();
  const memo = new FitMemo();
  const baseMemo = new FitMemo();
  for (const job of ordered) {
    // Reservations not held nor blocked were decided in step 1 (and skipped below).
    if (job.besteffort) continue;
    if (job.hold) {
      unplaceable(job, "hold", "held by its user or an administrator");
      continue;
    }
    if (job.dependenciesMet === false) {
      unplaceable(job, "dependency", "waiting for the jobs it depends on");
      continue;
    }
    if (job.reservationAt != null) continue;
    const shapes = pass.shapesOf(job);
    if (shapes.some(never)) {
      unplaceable(job, "resources", "no node matches the request, or too few nodes exist");
      continue;
    }
    const key = pass.shapesKey(shapes);
    const w = pass.wt(job);
    let from = pass.boundOf(key, w);
    if (!backfill && previousStart > from) from = previousStart;
    const found = earliestJob(pass.tls, shapes, from, w, pass.horizon, memo, beNow);
    if (!found) {
      unplaceable(job, "resources", "the groups of the request can never fit together");
      continue;
    }
    pass.setBound(key, w, found.start);
    previousStart = found.start;
    let reason: JobPlan["reason"] = "resources";
    if (found.start > now) {
      // `priority` when the job would start now but for jobs placed ahead of it.
      let byW = baseFit.get(key);
      if (!byW) {
        byW = new Map();
        baseFit.set(key, byW);
      }
      let fits = byW.get(w);
      if (fits === undefined) {
        const t = earliestJob(base, shapes, now, w, baseHorizon, baseMemo);
        fits = t !== null && t.start === now;
        byW.set(w, fits);
      }
      if (fits) reason = "priority";
    }
    record(job, found.start, found.takes, reason);
  }

  // 3. Besteffort jobs in the way of starts are preempted, the most recently started first.
  const beUsed = beNow.slice();
  const preempt: Preemption[] = [];
  const killed = new Set<number>();
  const byRecency = [...beRunning].sort((a, b) => b.startedAt - a.startedAt || b.id - a.id);
  for (let i = 0; i < pass.nodes.length; i++) {
    const tl = pass.tls[i]!;
    for (const r of byRecency) {
      if (tl.free[tl.index(now)]! - beUsed[i]! >= 0) break;
      if (killed.has(r.id) || !r.nodes.some((n) => pass.index.get(n.uid) === i)) continue;
      killed.add(r.id);
      const by = startedOn.get(i) ?? -1;
      preempt.push({
        id: r.id,
        byJob: by,
        message:
          by >= 0
            ? `besteffort job killed: job ${by} needs its cores on ${pass.nodes[i]!.uid}`
            : `besteffort job killed: its cores on ${pass.nodes[i]!.uid} are needed by running jobs`,
      });
      for (const n of r.nodes) {
        const x = pass.index.get(n.uid);
        if (x !== undefined) beUsed[x] = beUsed[x]! - n.cores;
      }
    }
  }

  // 4. Waiting besteffort jobs take what is idle now (they do not reserve the future).
  let idle = 0;
  for (let i = 0; i < pass.nodes.length; i++) idle += Math.max(0, pass.tls[i]!.free[0]! - beUsed[i]!);
  for (const job of ordered) {
    if (result.has(job.id)) continue;
    if (job.hold) unplaceable(job, "hold", "held by its user or an administrator");
    else if (job.dependenciesMet === false)
      unplaceable(job, "dependency", "waiting for the jobs it depends on");
    else {
      const shapes = pass.shapesOf(job);
      // Why count idle cores: once none are left, the rest of a long besteffort queue is skipped.
      const takes = idle === 0 || shapes.some(never) ? null : placeAt(pass.tls, shapes, now, 1, beUsed);
      if (!takes) {
        unplaceable(job, "resources", "besteffort: waiting for idle resources");
        continue;
      }
      const nodes = pass.named(takes);
      for (const g of takes) {
        for (const t of g) {
          beUsed[t.node] = beUsed[t.node]! + t.cores;
          idle -= t.cores;
        }
      }
      hold(job.id, now + 1, true, nodes);
      starts.push({ id: job.id, nodes });
      result.set(job.id, { id: job.id, scheduledAt: now, reason: null, nodes });
    }
  }

  const startNow = (job: WaitingJob): JobStart | null => {
    if (job.hold || job.dependenciesMet === false || (job.reservationAt != null && job.reservationAt > now)) {
      return null;
    }
    const shapes = pass.shapesOf(job);
    if (shapes.some(never)) return null;
    const w = job.besteffort ? 1 : pass.wt(job);
    const takes = placeAt(pass.tls, shapes, now, w, beUsed);
    if (!takes) return null;
    if (job.besteffort) for (const g of takes) for (const t of g) beUsed[t.node] = beUsed[t.node]! + t.cores;
    else pass.allocate(now, w, takes);
    const nodes = pass.named(takes);
    hold(job.id, now + w, job.besteffort === true, nodes);
    return { id: job.id, nodes };
  };
  const add = (job: RunningJob): void => {
    release(job.id);
    const end = Math.max(job.startedAt + job.walltime, now + 1);
    hold(job.id, end, job.besteffort, job.nodes);
    for (const [i, c] of held.get(job.id)!.cores) {
      if (job.besteffort) beUsed[i] = beUsed[i]! + c;
      else pass.tls[i]!.allocate(now, end, c);
    }
  };
  const release = (jobId: number): void => {
    const h = held.get(jobId);
    if (!h) return;
    held.delete(jobId);
    for (const [i, c] of h.cores) {
      if (h.besteffort) beUsed[i] = Math.max(0, beUsed[i]! - c);
      else pass.tls[i]!.release(now, h.end, c);
    }
  };
  return { plan: { starts, jobs: ordered.map((j) => result.get(j.id)!), preempt }, startNow, add, release };
}

/** The lines of a job's node file (`GRIDQ_NODEFILE`, like `OAR_NODEFILE`): each node once per core, head first. */
export function nodefileLines(nodes: readonly NodeCores[]): string[] {
  const out: string[] = [];
  for (const n of nodes) for (let i = 0; i < n.cores; i++) out.push(n.uid);
  return out;
}
