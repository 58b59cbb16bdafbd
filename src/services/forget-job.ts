// Use case: forget a finished job (owner or admin), as Accelerator's `nc forget`: it leaves every listing.

import { GridqError } from "../domain/errors.ts";
import type { JobRecord } from "../domain/job.ts";
import { FINAL_STATES, isFinal } from "../domain/job-state.ts";
import type { Actor, ServiceDeps } from "./context.ts";
import { getOwnJob } from "./query-jobs.ts";

export async function forgetJob(
  deps: ServiceDeps,
  actor: Actor,
  site: string,
  id: number,
): Promise<JobRecord> {
  const job = await getOwnJob(deps, actor, site, id, "forget");
  if (!isFinal(job.state)) {
    throw new GridqError(
      "GRIDQ_CONFLICT",
      `job ${id} is ${job.state}: stop it first, only finished jobs can be forgotten`,
      {
        state: job.state,
      },
    );
  }
  // Final states are final: the delete can only lose to another forget of the same job.
  if (!(await deps.store.forgetJob(id, [...FINAL_STATES]))) {
    throw new GridqError("GRIDQ_UNKNOWN_JOB", `job ${id} was forgotten meanwhile`, { id });
  }
  deps.log.info({ job: id, by: actor.name }, "job forgotten");
  return job;
}
