// How much longer a running job may run without delaying any planned job (walltime change).

import type { NodeInfo } from "./node.ts";
import { NodeTimeline } from "./node-timeline.ts";
import type { Plan, PlanInput } from "./planner-types.ts";

/**
 * Seconds of extra walltime that can be granted to running job `jobId`, at most `requested`:
 * on each of its nodes its cores must stay free after its current end, in the Gantt of the other
 * running jobs and of the jobs `plan` placed (reservations included). So a grant never delays a
 * planned job. Besteffort jobs get what they ask (they are preempted when needed anyway).
 * Returns 0 for an unknown job.
 */
export function walltimeGrant(input: PlanInput, plan: Plan, jobId: number, requested: number): number {
  const job = input.running.find((r) => r.id === jobId);
  if (!job || requested <= 0) return 0;
  if (job.besteffort) return requested;
  const { now } = input;
  const index = new Map(input.nodes.map((n: NodeInfo, i) => [n.uid, i]));
  const tls = input.nodes.map((n) => new NodeTimeline(now, n.cores));
  const take = (uid: string, from: number, to: number, cores: number) => {
    const i = index.get(uid);
    if (i !== undefined) tls[i]!.allocate(from, to, cores);
  };
  for (const r of input.running) {
    if (r.besteffort) continue;
    for (const n of r.nodes) take(n.uid, now, Math.max(r.startedAt + r.walltime, now + 1), n.cores);
  }
  const waiting = new Map(input.waiting.map((w) => [w.id, w]));
  for (const p of plan.jobs) {
    const w = waiting.get(p.id);
    if (!w || w.besteffort || p.scheduledAt === null || !p.nodes) continue;
    for (const n of p.nodes) take(n.uid, p.scheduledAt, p.scheduledAt + w.walltime, n.cores);
  }
  const end = Math.max(job.startedAt + job.walltime, now + 1);
  let grant = requested;
  for (const n of job.nodes) {
    const i = index.get(n.uid);
    if (i === undefined) continue;
    const tl = tls[i]!;
    // The job's own cores are free after `end` in this Gantt; the first segment that cannot
    // give them back bounds the grant.
    for (let s = tl.index(end); s < tl.times.length && tl.times[s]! < end + grant; s++) {
      if (tl.free[s]! < n.cores) {
        grant = Math.max(0, tl.times[s]! - end);
        break;
      }
    }
  }
  return grant;
}
