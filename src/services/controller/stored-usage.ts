// Fair-share usage as the planning pass needs it: the in-memory tracker (a cache) fed by this
// server's ended jobs, and rebuilt once from the store's ended jobs, so a restart forgets nothing.

import type { JobRecord } from "../../domain/job.ts";
import type { FairShare, RunningJob } from "../../domain/planner-types.ts";
import type { ServiceDeps } from "../context.ts";
import { UsageTracker } from "./fair-share.ts";

export class StoredUsage {
  readonly #deps: ServiceDeps;
  readonly #tracker: UsageTracker;
  readonly #startedAt: number;
  #restored: Promise<void> | null = null;
  /** Jobs told by `ended` before the restore read the store: not counted twice. */
  #endedEarly: Set<number> | null = new Set();

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    const { fairShareWeight, fairShareHalfLife } = deps.config.scheduler;
    this.#tracker = new UsageTracker(fairShareWeight, fairShareHalfLife);
    this.#startedAt = deps.clock.now();
  }

  /** A job ended: what it used counts for its user. */
  ended(job: JobRecord): void {
    this.#tracker.ended(job, this.#deps.clock.now());
    this.#endedEarly?.add(job.id);
  }

  /** The planner's fair-share input (undefined: fair-share is off). */
  async fairShare(running: readonly RunningJob[], now: number): Promise<FairShare | undefined> {
    this.#restored ??= this.#restore();
    await this.#restored;
    return this.#tracker.fairShare(running, now);
  }

  /** Jobs that ended before this server started count too (those ended since are told by `ended`). */
  async #restore(): Promise<void> {
    const memory = this.#tracker.memory;
    const ended =
      memory > 0 ? await this.#deps.store.listJobsEndedSince(this.#startedAt - memory, 1_000_000) : [];
    const early = this.#endedEarly ?? new Set<number>();
    this.#endedEarly = null;
    this.#tracker.restore(
      ended.filter((j) => j.stoppedAt !== null && j.stoppedAt < this.#startedAt && !early.has(j.id)),
      this.#deps.clock.now(),
    );
  }
}
