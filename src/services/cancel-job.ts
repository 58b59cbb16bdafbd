// Use case: cancel a job (owner or admin). A waiting job ends at once; a running one is killed
// by its agent and ends when the agent reports the process group gone.

import { GridqError } from "../domain/errors.ts";
import type { JobRecord } from "../domain/job.ts";
import { eventName, transition } from "../domain/job-state.ts";
import type { Actor, ServiceDeps } from "./context.ts";
import type { FactSink } from "./controller/facts.ts";
import { assertNotEnded, getOwnJob } from "./query-jobs.ts";

export async function cancelJob(
  deps: ServiceDeps,
  inbox: FactSink,
  actor: Actor,
  site: string,
  id: number,
): Promise<JobRecord> {
  // Compare-and-set can lose to a concurrent transition (the job started meanwhile): retry
  // with the fresh state a few times; each retry re-reads, so this always converges.
  for (let attempt = 0; attempt < 8; attempt++) {
    const job = await getOwnJob(deps, actor, site, id, "cancel");
    assertNotEnded(job);
    const now = deps.clock.now();
    const t = transition(job, { type: "cancel", at: now, by: actor.name });
    const [updated] = await deps.store.updateJobs([
      {
        id,
        expect: { state: job.state, leaseId: job.leaseId },
        patch: t.patch,
        event: { at: now, type: eventName("cancel"), description: t.description },
      },
    ]);
    if (!updated) continue;
    let kill: string | null = null;
    for (const e of t.effects) if (e.type === "kill") kill = e.reason;
    void inbox.post({ type: "canceled", job: updated, kill });
    return updated;
  }
  throw new GridqError("GRIDQ_CONFLICT", `job ${id} changed state too often to cancel; try again`);
}
