// The scheduler's in-memory view of a site's waiting jobs, fed by the store (its source of truth):
// each pass reads only ids, states and walltimes, and whole records only for jobs it has not seen.

import type { JobRecord } from "../../domain/job.ts";
import type { Store } from "../../store/contract.ts";

export class WaitingView {
  readonly #store: Store;
  /** Waiting and held jobs by id, as last read (state and walltime refreshed every pass). */
  readonly #jobs = new Map<number, JobRecord>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** A job just stored by this server: no need to read it back. */
  add(job: JobRecord): void {
    if (job.state === "waiting" || job.state === "hold") this.#jobs.set(job.id, job);
  }

  /** A job as last seen, if the view holds it. */
  get(id: number): JobRecord | undefined {
    return this.#jobs.get(id);
  }

  /** The site's waiting and held jobs, oldest first. */
  async list(site: string): Promise<JobRecord[]> {
    const brief = await this.#store.listWaitingBrief(site);
    const missing = brief.filter((b) => !this.#jobs.has(b.id)).map((b) => b.id);
    for (let i = 0; i < missing.length; i += 500) {
      const ids = missing.slice(i, i + 500);
      const { items } = await this.#store.listJobs({ ids, offset: 0, limit: ids.length });
      for (const j of items) this.#jobs.set(j.id, j);
    }
    const out: JobRecord[] = [];
    for (const b of brief) {
      let j = this.#jobs.get(b.id);
      if (!j || j.site !== site) continue; // gone between the two reads: the next pass sees it
      if (j.state !== b.state || j.walltime !== b.walltime) {
        j = { ...j, state: b.state, walltime: b.walltime };
        this.#jobs.set(j.id, j);
      }
      out.push(j);
    }
    // Jobs no longer waiting leave the view (rebuilt when it holds many more than wait).
    if (this.#jobs.size > out.length * 2 + 1000) {
      const keep = new Set(brief.map((b) => b.id));
      for (const [id, j] of this.#jobs) if (j.site === site && !keep.has(id)) this.#jobs.delete(id);
    }
    return out;
  }
}
