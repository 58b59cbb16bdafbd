// Use cases: read one job, list jobs with filters, read a job's events.

import { GridqError } from "../domain/errors.ts";
import type { JobEventRecord, JobRecord } from "../domain/job.ts";
import { isFinal, JOB_STATES, type JobState } from "../domain/job-state.ts";
import type { JobFilter } from "../store/contract.ts";
import type { Actor, ServiceDeps } from "./context.ts";

export function checkSite(deps: ServiceDeps, site: string): void {
  if (!deps.nodes.sites().includes(site)) {
    throw new GridqError("GRIDQ_UNKNOWN_SITE", `Cannot find resource /sites/${site}`, { site });
  }
}

export async function getJob(deps: ServiceDeps, site: string, id: number): Promise<JobRecord> {
  checkSite(deps, site);
  const job = await deps.store.getJob(id);
  if (!job || job.site !== site) {
    throw new GridqError("GRIDQ_UNKNOWN_JOB", `Couldn't find job with 'job_id'=${id} on site '${site}'`, {
      id,
    });
  }
  return job;
}

/** A job the actor may act on (`verb` it): its owner's, or any for an admin (else 403). */
export async function getOwnJob(
  deps: ServiceDeps,
  actor: Actor,
  site: string,
  id: number,
  verb: string,
): Promise<JobRecord> {
  const job = await getJob(deps, site, id);
  if (job.user !== actor.name && !actor.admin) {
    throw new GridqError(
      "GRIDQ_FORBIDDEN",
      `job ${id} belongs to ${job.user}: only its owner or an admin may ${verb} it`,
    );
  }
  return job;
}

/** 409 for a job that has ended already. */
export function assertNotEnded(job: JobRecord): void {
  if (isFinal(job.state)) {
    throw new GridqError("GRIDQ_CONFLICT", `job ${job.id} has already ended (${job.state})`, {
      state: job.state,
    });
  }
}

export interface ListJobsQuery {
  state?: string;
  user?: string;
  name?: string;
  queue?: string;
  project?: string;
  offset?: number;
  limit?: number;
}

export function parseStates(text: string): JobState[] {
  const states = text
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const s of states) {
    if (!(JOB_STATES as readonly string[]).includes(s)) {
      throw new GridqError(
        "GRIDQ_VALIDATION",
        `state: unknown state '${s}' (known: ${JOB_STATES.join(", ")})`,
        {
          field: "state",
        },
      );
    }
  }
  return states as JobState[];
}

export async function listJobs(deps: ServiceDeps, site: string, q: ListJobsQuery) {
  checkSite(deps, site);
  const filter: JobFilter = {
    site,
    offset: q.offset ?? 0,
    limit: q.limit ?? 50,
    ...(q.state ? { states: parseStates(q.state) } : {}),
    ...(q.user ? { user: q.user } : {}),
    ...(q.name ? { name: q.name } : {}),
    ...(q.queue ? { queue: q.queue } : {}),
    ...(q.project ? { project: q.project } : {}),
  };
  return deps.store.listJobs(filter);
}

export async function jobEvents(deps: ServiceDeps, ids: number[]): Promise<Map<number, JobEventRecord[]>> {
  return deps.store.listEvents(ids);
}
