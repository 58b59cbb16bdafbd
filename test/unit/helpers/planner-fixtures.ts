// Synthetic clusters, jobs and an independent plan checker for the planner's unit tests.

import type { NodeInfo } from "../../../src/domain/node.ts";
import type { Plan, PlanInput, WaitingJob } from "../../../src/domain/planner-types.ts";
import { compileFilter } from "../../../src/domain/properties-eval.ts";
import { parseResourceRequest } from "../../../src/domain/resource-request.ts";
import { filterPropertiesOf } from "../../../src/domain/resource-shape.ts";

/** `count` nodes named `<cluster>-1..n` with `cores` cores each. */
export function cluster(
  name: string,
  count: number,
  cores: number,
  extra: Partial<NodeInfo> = {},
): NodeInfo[] {
  return Array.from({ length: count }, (_, i) => ({
    uid: `${name}-${i + 1}`,
    site: "test",
    cluster: name,
    cores,
    memoryBytes: 64 * 2 ** 30,
    gpus: 0,
    properties: { cluster: name },
    ...extra,
  }));
}

let nextId = 1;
/** A waiting job; `resources` in OAR syntax. */
export function job(resources: string, walltime: number, more: Partial<WaitingJob> = {}): WaitingJob {
  const id = more.id ?? nextId++;
  return {
    id,
    user: "alice",
    queue: "default",
    queuePriority: 10,
    submittedAt: id,
    request: parseResourceRequest(resources),
    walltime,
    ...more,
  };
}

/** A deterministic pseudo-random generator (mulberry32), so failures can be replayed by seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Check a plan against its input without reusing the planner's code paths: every node's cores
 * over time (running + planned), starts vs predictions, filters, counts, reservations.
 * Returns the list of violations (empty when the plan is sound).
 */
export function checkPlan(input: PlanInput, plan: Plan): string[] {
  const bad: string[] = [];
  const { now } = input;
  const nodes = new Map(input.nodes.map((n) => [n.uid, n]));
  const waiting = new Map(input.waiting.map((j) => [j.id, j]));
  const killed = new Set(plan.preempt.map((p) => p.id));
  // Intervals of normal use per node, and besteffort use now.
  const use = new Map<string, { from: number; to: number; cores: number }[]>();
  const beNow = new Map<string, number>();
  const add = (uid: string, from: number, to: number, cores: number) => {
    if (!nodes.has(uid)) bad.push(`unknown node ${uid}`);
    use.set(uid, [...(use.get(uid) ?? []), { from, to, cores }]);
  };
  for (const r of input.running) {
    for (const n of r.nodes) {
      if (r.besteffort) {
        if (!killed.has(r.id)) beNow.set(n.uid, (beNow.get(n.uid) ?? 0) + n.cores);
      } else add(n.uid, now, Math.max(r.startedAt + r.walltime, now + 1), n.cores);
    }
  }
  const startIds = new Set(plan.starts.map((s) => s.id));
  if (plan.jobs.length !== input.waiting.length) bad.push("not every waiting job has a verdict");
  for (const p of plan.jobs) {
    const j = waiting.get(p.id);
    if (!j) {
      bad.push(`verdict for unknown job ${p.id}`);
      continue;
    }
    if ((p.scheduledAt === now && p.reason === null) !== startIds.has(p.id))
      bad.push(`job ${p.id}: start mismatch`);
    if (j.hold && p.reason !== "hold") bad.push(`job ${p.id}: held but ${p.reason}`);
    if (j.dependenciesMet === false && p.reason !== "dependency") bad.push(`job ${p.id}: dependency ignored`);
    if (j.reservationAt != null && !j.besteffort && p.scheduledAt !== null) {
      if (p.scheduledAt !== Math.max(now, j.reservationAt)) bad.push(`job ${p.id}: reservation moved`);
    }
    if (p.scheduledAt === null || !p.nodes) continue;
    if (p.scheduledAt < now) bad.push(`job ${p.id}: scheduled in the past`);
    const total = p.nodes.reduce((a, n) => a + n.cores, 0);
    let expected = 0;
    for (const n of p.nodes) {
      const node = nodes.get(n.uid);
      if (!node) continue;
      if (n.cores <= 0 || n.cores > node.cores) bad.push(`job ${p.id}: ${n.cores} cores on ${n.uid}`);
      const ok = j.request.groups.some(
        (g) => !g.filterExpr || compileFilter(g.filterExpr)(filterPropertiesOf(node)),
      );
      if (!ok) bad.push(`job ${p.id}: ${n.uid} matches no filter of ${j.request.text}`);
    }
    if (new Set(p.nodes.map((n) => n.uid)).size !== p.nodes.length)
      bad.push(`job ${p.id}: node listed twice`);
    // Exact shape for one-group requests whose levels are nodes[/core] or core.
    const g = j.request.groups[0]!;
    if (j.request.groups.length === 1 && g.levels.every((l) => typeof l.count === "number")) {
      const [a, b] = g.levels;
      if (a?.type === "nodes" && (!b || b.type === "core")) {
        if (p.nodes.length !== a.count)
          bad.push(`job ${p.id}: ${p.nodes.length} nodes for ${j.request.text}`);
        for (const n of p.nodes) {
          const want = b ? (b.count as number) : nodes.get(n.uid)!.cores;
          if (n.cores !== want) bad.push(`job ${p.id}: ${n.cores} cores on ${n.uid} for ${j.request.text}`);
        }
        expected = total;
      } else if (a?.type === "core" && !b) expected = a.count as number;
      else expected = total;
      if (total !== expected) bad.push(`job ${p.id}: ${total} cores for ${j.request.text}`);
    }
    if (j.besteffort) {
      for (const n of p.nodes) beNow.set(n.uid, (beNow.get(n.uid) ?? 0) + n.cores);
    } else for (const n of p.nodes) add(n.uid, p.scheduledAt, p.scheduledAt + j.walltime, n.cores);
  }
  for (const [uid, spans] of use) {
    const node = nodes.get(uid);
    if (!node) continue;
    const times = [...new Set(spans.flatMap((s) => [s.from]))].sort((x, y) => x - y);
    for (const t of times) {
      let c = 0;
      for (const s of spans) if (s.from <= t && t < s.to) c += s.cores;
      if (t === now) c += beNow.get(uid) ?? 0;
      if (c > node.cores) bad.push(`node ${uid} over-committed at ${t}: ${c} > ${node.cores}`);
    }
  }
  for (const [uid, c] of beNow) {
    if (!use.has(uid) && c > (nodes.get(uid)?.cores ?? 0))
      bad.push(`node ${uid} over-committed now by besteffort`);
  }
  return bad;
}
