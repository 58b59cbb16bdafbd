// Agents' reports folded through the job state machine: a tick's reports become compare-and-set
// updates in one transaction, in arrival order. Each report's promise resolves once its result is
// durable (or known stale): only then may its agent forget it.

import type { JobRecord } from "../../domain/job.ts";
import { eventName, transition } from "../../domain/job-state.ts";
import type { JobReport } from "../../protocol/agent-messages.ts";
import type { JobUpdate } from "../../store/contract.ts";
import { eventOfReport } from "../agent-leases.ts";
import type { ServiceDeps } from "../context.ts";

interface Pending {
  report: JobReport;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** What a recorded batch changed: jobs that ended (their cores are free) and sites to plan. */
export interface Folded {
  ended: JobRecord[];
  /** Jobs a final report was about, as they are now (their `gridq exec`s end with them). */
  finals: JobRecord[];
  sites: Set<string>;
}

export class ReportFolding {
  readonly #deps: ServiceDeps;
  readonly #recorded: (f: Folded) => void;
  #pending: Pending[] = [];
  #flush: Promise<void> | null = null;

  constructor(deps: ServiceDeps, recorded: (f: Folded) => void) {
    this.#deps = deps;
    this.#recorded = recorded;
  }

  add(report: JobReport): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ report, resolve, reject });
      // Reports of one turn of the event loop share a transaction.
      this.#flush ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#apply());
    });
  }

  async #apply(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const folded = await this.#fold(batch.map((p) => p.report));
      for (const p of batch) p.resolve();
      this.#recorded(folded);
    } catch (e) {
      // Not acknowledged: the agent sends these results again on its next connection.
      this.#deps.log.error({ err: e }, "recording agent reports failed");
      for (const p of batch) p.reject(e);
    } finally {
      this.#flush = null;
      if (this.#pending.length > 0) {
        this.#flush = new Promise<void>((r) => setImmediate(r)).then(() => this.#apply());
      }
    }
  }

  async #fold(reports: JobReport[]): Promise<Folded> {
    const ids = [...new Set(reports.map((r) => r.jobId))];
    const { items } = await this.#deps.store.listJobs({ ids, offset: 0, limit: ids.length });
    const jobs = new Map(items.map((j) => [j.id, j]));
    const updates: JobUpdate[] = [];
    const sites = new Set<string>();
    for (const r of reports) {
      const job = jobs.get(r.jobId);
      if (!job) continue;
      const event = eventOfReport(r);
      let t: ReturnType<typeof transition>;
      try {
        t = transition(job, event);
      } catch {
        // A stale or repeated report (its lease is no longer the job's): acknowledged, ignored.
        this.#deps.log.debug({ job: r.jobId, report: r.type }, "stale agent report ignored");
        continue;
      }
      const note = r.type === "finished" && r.note ? { message: `${t.patch.message}: ${r.note}` } : {};
      updates.push({
        id: job.id,
        expect: { state: job.state, leaseId: job.leaseId },
        patch: { ...t.patch, ...note },
        event: { at: event.at, type: eventName(event.type), description: t.description },
      });
      jobs.set(job.id, { ...job, ...t.patch } as JobRecord);
      if (r.type !== "started") sites.add(job.site);
    }
    const results = await this.#deps.store.updateJobs(updates);
    const ended: JobRecord[] = [];
    results.forEach((job, i) => {
      const state = updates[i]!.patch.state;
      if (job && (state === "terminated" || state === "error")) ended.push(job);
    });
    const finals = [...new Set(reports.filter((r) => r.type !== "started").map((r) => r.jobId))]
      .map((id) => jobs.get(id))
      .filter((j) => j !== undefined);
    return { ended, finals, sites };
  }

  /** Resolves once every report received so far is recorded. */
  async settled(): Promise<void> {
    while (this.#flush) await this.#flush;
  }
}
