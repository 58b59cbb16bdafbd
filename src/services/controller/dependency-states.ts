// What the scheduler knows of the jobs that waiting jobs depend on (`afterok:12`).

import type { JobRecord } from "../../domain/job.ts";
import type { Store } from "../../store/contract.ts";

export type DependencyState = Pick<JobRecord, "state" | "exitCode">;

export class DependencyStates {
  readonly #store: Store;
  /** Ended jobs that others depend on: their state never changes again. */
  readonly #ended = new Map<number, DependencyState>();

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * What is known of the jobs that waiting jobs depend on: active ones from this pass, ended
   * ones from a cache (an ended job never changes) filled from the store.
   */
  async lookup(
    jobs: readonly JobRecord[],
    byId: ReadonlyMap<number, JobRecord>,
  ): Promise<(id: number) => DependencyState | undefined> {
    const missing = new Set<number>();
    for (const j of jobs) {
      if (j.state !== "waiting" && j.state !== "hold") continue;
      for (const d of j.dependencies) {
        const id = Number(d.slice(d.indexOf(":") + 1));
        if (!byId.has(id) && !this.#ended.has(id)) missing.add(id);
      }
    }
    const others = new Map<number, DependencyState>();
    const ids = [...missing];
    if (this.#ended.size + ids.length > 200_000) this.#ended.clear();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const { items } = await this.#store.listJobs({ ids: chunk, offset: 0, limit: chunk.length });
      for (const j of items) {
        const st = { state: j.state, exitCode: j.exitCode };
        if (j.state === "terminated" || j.state === "error") this.#ended.set(j.id, st);
        else others.set(j.id, st);
      }
    }
    return (id) => byId.get(id) ?? this.#ended.get(id) ?? others.get(id);
  }
}
