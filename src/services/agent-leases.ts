// What the hub sends and receives about a job: its lease for an agent, and the job event each
// agent report stands for.

import { join } from "node:path";
import type { JobRecord } from "../domain/job.ts";
import type { JobEvent } from "../domain/job-state.ts";
import type { JobReport, Lease } from "../protocol/agent-messages.ts";
import { arrayEnv } from "./submit-extras.ts";
import { outputPaths } from "./submit-job.ts";

export function leaseOf(job: JobRecord, defaultDirectory: string): Lease {
  const out = outputPaths(job);
  return {
    leaseId: job.leaseId!,
    jobId: job.id,
    jobName: job.name,
    user: job.user,
    command: job.command,
    directory: job.directory,
    stdoutPath: out.stdout,
    stderrPath: out.stderr,
    walltime: job.walltime,
    nodes: job.assignedNodes,
    env: { ...job.env, ...arrayEnv(job) },
    site: job.site,
    // Only the submitter's own folder (see submitJobs): another user's is never made for them.
    ...(job.directory === join(defaultDirectory, job.user) ? { createDirectory: true } : {}),
  };
}

/** The job event an agent's report stands for. */
export function eventOfReport(r: JobReport): JobEvent {
  switch (r.type) {
    case "started":
      return { type: "start", at: r.at, leaseId: r.leaseId, pid: r.pid };
    case "finished":
      return r.walltimeExceeded
        ? {
            type: "walltime-exceeded",
            at: r.at,
            leaseId: r.leaseId,
            exitCode: r.exitCode,
            signal: r.signal,
          }
        : { type: "finish", at: r.at, leaseId: r.leaseId, exitCode: r.exitCode, signal: r.signal };
    case "failed":
      return { type: "launch-failed", at: r.at, leaseId: r.leaseId, reason: r.reason };
  }
}
