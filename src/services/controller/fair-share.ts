// Recent usage per user for the planner's fair-share: core-seconds, halved every `halfLife`.

import type { JobRecord } from "../../domain/job.ts";
import type { FairShare, RunningJob } from "../../domain/planner-types.ts";

export class UsageTracker {
  readonly #weight: number;
  readonly #halfLife: number;
  /**
   * Decayed core-seconds of ended jobs, as of `#at`: a cache of the store's ended jobs, rebuilt
   * from them after a restart (`restore`).
   */
  readonly #ended = new Map<string, number>();
  #at = 0;

  constructor(weight: number, halfLife: number) {
    this.#weight = weight;
    this.#halfLife = halfLife;
  }

  #decay(now: number): void {
    if (this.#at === 0) this.#at = now;
    const f = 0.5 ** (Math.max(0, now - this.#at) / this.#halfLife);
    this.#at = now;
    if (f >= 1) return;
    for (const [u, v] of this.#ended) {
      if (v * f < 1) this.#ended.delete(u);
      else this.#ended.set(u, v * f);
    }
  }

  /** A job ended: what it used counts for its user. */
  ended(job: Pick<JobRecord, "user" | "startedAt" | "stoppedAt" | "assignedNodes">, now: number): void {
    if (this.#weight <= 0 || job.startedAt === null) return;
    this.#decay(now);
    const cores = job.assignedNodes.reduce((s, a) => s + a.cores, 0);
    const used = cores * Math.max(0, (job.stoppedAt ?? now) - job.startedAt);
    this.#ended.set(job.user, (this.#ended.get(job.user) ?? 0) + used);
  }

  /** Jobs that ended before this tracker existed: each counts as decayed since its end. */
  restore(
    jobs: readonly Pick<JobRecord, "user" | "startedAt" | "stoppedAt" | "assignedNodes">[],
    now: number,
  ): void {
    if (this.#weight <= 0) return;
    for (const job of jobs) {
      if (job.startedAt === null || job.stoppedAt === null) continue;
      const before = this.#ended.get(job.user) ?? 0;
      this.ended(job, now);
      const used = (this.#ended.get(job.user) ?? 0) - before;
      this.#ended.set(job.user, before + used * 0.5 ** (Math.max(0, now - job.stoppedAt) / this.#halfLife));
    }
  }

  /** How far back ended jobs still count (below 1/1024 of their usage: forgotten). */
  get memory(): number {
    return this.#weight > 0 ? 10 * this.#halfLife : 0;
  }

  /** The planner's fair-share input: ended jobs' decayed usage plus running jobs' so far. */
  fairShare(running: readonly RunningJob[], now: number): FairShare | undefined {
    if (this.#weight <= 0) return undefined;
    this.#decay(now);
    const usage: Record<string, number> = Object.fromEntries(this.#ended);
    for (const r of running) {
      const cores = r.nodes.reduce((s, n) => s + n.cores, 0);
      usage[r.user] = (usage[r.user] ?? 0) + cores * Math.max(0, now - r.startedAt);
    }
    return { weight: this.#weight, usage };
  }
}
