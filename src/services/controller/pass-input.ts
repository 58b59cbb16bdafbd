// A pass's jobs sorted for the planner: running allocations, waiting jobs with their dependency
// status, and the updates ending jobs whose dependencies can never be met.

import type { JobRecord } from "../../domain/job.ts";
import { eventName, transition } from "../../domain/job-state.ts";
import type { RunningJob, WaitingJob } from "../../domain/planner-types.ts";
import type { ResourceRequest } from "../../domain/resource-request.ts";
import type { JobUpdate } from "../../store/contract.ts";
import { type Queues, runningJob, waitingJob } from "../plan-input.ts";
import { dependencyStatus } from "../submit-extras.ts";

export interface PassJobs {
  running: RunningJob[];
  waiting: WaitingJob[];
  /** Waiting jobs whose dependencies failed: they end in error, in the pass's transaction. */
  failed: JobUpdate[];
}

export function passJobs(
  jobs: readonly JobRecord[],
  o: {
    now: number;
    at: number;
    queues: Queues;
    dependency: (id: number) => Pick<JobRecord, "state" | "exitCode"> | undefined;
    request: (job: JobRecord) => ResourceRequest;
  },
): PassJobs {
  const out: PassJobs = { running: [], waiting: [], failed: [] };
  for (const j of jobs) {
    if (j.state === "launching" || j.state === "running") {
      out.running.push(runningJob(j, o.now, o.queues));
      continue;
    }
    const met = j.dependencies.length === 0 ? true : dependencyStatus(j.dependencies, o.dependency);
    if (typeof met === "string") {
      const t = transition(j, { type: "dependency-failed", at: o.at, reason: met });
      out.failed.push({
        id: j.id,
        expect: { state: j.state },
        patch: t.patch,
        event: { at: o.at, type: eventName("dependency-failed"), description: t.description },
      });
      continue;
    }
    out.waiting.push({ ...waitingJob(j, o.request(j), o.queues), dependenciesMet: met });
  }
  return out;
}
