// Use case: change a job's walltime (`POST .../walltime`, Grid'5000 §3.7, OAR's oarwalltime).
// A waiting job gets what it asks (within its queue's limit); a running one gets the extension
// the plan allows without delaying any planned job, and its agent is told the new end.

import { GridqError } from "../domain/errors.ts";
import type { JobRecord } from "../domain/job.ts";
import { eventName, transition } from "../domain/job-state.ts";
import { maxWalltimeOf } from "../domain/queues.ts";
import { parseWalltime } from "../domain/resource-request.ts";
import type { Actor, ServiceDeps } from "./context.ts";
import type { FactSink } from "./controller/facts.ts";
import { assertNotEnded, getOwnJob } from "./query-jobs.ts";

export interface WalltimeChange {
  job: JobRecord;
  /** Seconds asked to add (negative: to remove) and seconds granted. */
  requested: number;
  granted: number;
}

/** What the change asks the site's controller: the extension a running job may get now. */
export interface WalltimeGrants {
  /** Seconds grantable now (null: the job is not planned yet). */
  grantable(site: string, id: number, requested: number): Promise<number | null>;
}

/** `+1:30` adds, `-0:30` removes, `2:00` sets (hours first, as oarwalltime reads them). */
export function parseWalltimeChange(text: unknown, current: number): number {
  if (typeof text !== "string" || !/^\s*[+-]?\s*\d+(:\d+){0,2}\s*$/.test(text)) {
    throw new GridqError("GRIDQ_INVALID_WALLTIME", `walltime: '${String(text)}' is not [+|-]H[:M[:S]]`);
  }
  const t = text.trim();
  const sign = t[0] === "+" ? 1 : t[0] === "-" ? -1 : 0;
  const seconds = parseWalltime(sign === 0 ? t : t.slice(1).trim());
  return sign === 0 ? seconds - current : sign * seconds;
}

export const formatDelta = (s: number): string => {
  const a = Math.abs(s);
  return `${s < 0 ? "-" : "+"}${Math.floor(a / 3600)}:${Math.floor((a % 3600) / 60)}:${a % 60}`;
};

export async function changeWalltime(
  deps: ServiceDeps,
  grants: WalltimeGrants,
  inbox: FactSink,
  actor: Actor,
  site: string,
  id: number,
  text: unknown,
): Promise<WalltimeChange> {
  const job = await getOwnJob(deps, actor, site, id, "change");
  assertNotEnded(job);
  const requested = parseWalltimeChange(text, job.walltime);
  const queue = deps.config.queues.find((q) => q.name === job.queue);
  let granted = requested;
  // Never below one second, nor below what a running job has already used.
  const floor = job.startedAt !== null ? Math.ceil(deps.clock.now() - job.startedAt) + 1 : 1;
  if (job.walltime + granted < floor) granted = floor - job.walltime;
  granted = Math.min(granted, maxWalltimeOf(queue ?? { maxWalltime: 0 }) - job.walltime);
  if (granted > 0 && (job.state === "launching" || job.state === "running")) {
    granted = Math.min(granted, (await grants.grantable(site, id, granted)) ?? 0);
  }
  if (granted === 0) return { job, requested, granted };
  const now = deps.clock.now();
  const t = transition(job, {
    type: "walltime-change",
    at: now,
    walltime: job.walltime + granted,
    by: actor.name,
  });
  const [updated] = await deps.store.updateJobs([
    {
      id,
      expect: { state: job.state, leaseId: job.leaseId },
      patch: t.patch,
      event: { at: now, type: eventName("walltime-change"), description: t.description },
    },
  ]);
  if (!updated) throw new GridqError("GRIDQ_CONFLICT", `job ${id} changed state meanwhile; try again`);
  void inbox.post({ type: "walltimeChanged", job: updated });
  return { job: updated, requested, granted };
}
