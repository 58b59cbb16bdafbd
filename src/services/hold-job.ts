// Use cases: hold a waiting job (it keeps its place but is not started) and resume a held one.

import { GridqError } from "../domain/errors.ts";
import type { JobRecord } from "../domain/job.ts";
import { eventName, transition } from "../domain/job-state.ts";
import type { Actor, ServiceDeps } from "./context.ts";
import type { FactSink } from "./controller/facts.ts";
import { getJob, getOwnJob } from "./query-jobs.ts";

/** Hold (`waiting` → `hold`) or resume (`hold` → `waiting`) a job; owner or admin. */
export async function holdOrResumeJob(
  deps: ServiceDeps,
  inbox: FactSink,
  actor: Actor,
  site: string,
  id: number,
  action: "hold" | "resume",
): Promise<JobRecord> {
  const job = await getOwnJob(deps, actor, site, id, action);
  const now = deps.clock.now();
  // Throws GRIDQ_CONFLICT (409) when the state does not allow it (a running job cannot be held).
  const t = transition(job, { type: action, at: now, by: actor.name });
  const [updated] = await deps.store.updateJobs([
    {
      id,
      expect: { state: job.state, leaseId: job.leaseId },
      patch: t.patch,
      event: { at: now, type: eventName(action), description: t.description },
    },
  ]);
  // Compare-and-set lost: the scheduler started it (or someone canceled it) meanwhile.
  if (!updated) {
    const fresh = await getJob(deps, site, id);
    throw new GridqError("GRIDQ_CONFLICT", `cannot ${action} a job in state '${fresh.state}'`, {
      state: fresh.state,
      event: action,
    });
  }
  void inbox.post({ type: action === "hold" ? "held" : "resumed", job: updated });
  return updated;
}
