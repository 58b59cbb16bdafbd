// From stored jobs to the planner's input: running allocations and parsed waiting jobs.

import type { JobRecord } from "../domain/job.ts";
import type { NodeCores, RunningJob, WaitingJob } from "../domain/planner-types.ts";
import { type FilterExpr, parseFilter } from "../domain/properties-filter.ts";
import { DEFAULT_QUEUES, type QueueDef } from "../domain/queues.ts";
import {
  type ParseResourceOptions,
  parseResourceRequest,
  type ResourceRequest,
} from "../domain/resource-request.ts";

const LEVEL_WORD = /(^|[,+/{}\s])(nodes?|host|network_address|cpu|cores?|gpu)\s*=/i;

/** gridq's default request is one core (the choice), where OAR's is `nodes=1`. */
export function requestOf(resources: string | undefined, opts: ParseResourceOptions = {}): ResourceRequest {
  const text = (resources ?? "").trim();
  return parseResourceRequest(LEVEL_WORD.test(text) ? text : text ? `core=1,${text}` : "core=1", opts);
}

/** Queues by name, from the configuration (the built-in ones when none is given). */
export type Queues = ReadonlyMap<string, QueueDef>;

const byConfig = new WeakMap<readonly QueueDef[], Queues>();
export function queuesOf(list: readonly QueueDef[] = DEFAULT_QUEUES): Queues {
  let m = byConfig.get(list);
  if (!m) {
    m = new Map(list.map((q) => [q.name, q]));
    byConfig.set(list, m);
  }
  return m;
}

/** A job is besteffort by its queue or, as in OAR, by the `besteffort` type. */
export function isBesteffort(job: Pick<JobRecord, "queue" | "types">, queues: Queues = queuesOf()): boolean {
  return queues.get(job.queue)?.besteffort === true || job.types.includes("besteffort");
}

/**
 * The request the planner places: the job's `resources`, with its `properties` filter (if any)
 * required on every `+` group, as OAR applies `-p` to the whole request.
 */
export function plannedRequest(
  job: Pick<JobRecord, "resources" | "properties">,
  parsed?: ResourceRequest,
  propsExpr?: FilterExpr,
): ResourceRequest {
  const request = parsed ?? requestOf(job.resources);
  const text = job.properties?.trim();
  if (!text) return request;
  const props = propsExpr ?? parseFilter(text);
  return {
    ...request,
    groups: request.groups.map((g) => {
      const filterExpr: FilterExpr = g.filterExpr ? { kind: "and", left: g.filterExpr, right: props } : props;
      // The text keys the planner's cache of matching nodes: it must name the whole filter.
      const filter = g.filter ? `(${g.filter}) and (${text})` : text;
      return { ...g, filter, filterExpr };
    }),
  };
}

export function nodeCores(job: JobRecord): NodeCores[] {
  return job.assignedNodes.map((a) => ({ uid: a.node, cores: a.cores }));
}

/** A launching or running job as the planner sees it (expected end: start + walltime). */
export function runningJob(job: JobRecord, now: number, queues: Queues = queuesOf()): RunningJob {
  return {
    id: job.id,
    user: job.user,
    besteffort: isBesteffort(job, queues),
    startedAt: Math.floor(job.startedAt ?? job.scheduledAt ?? now),
    walltime: job.walltime,
    nodes: nodeCores(job),
  };
}

/** A waiting or held job as the planner sees it; the request is parsed by the caller's cache. */
export function waitingJob(
  job: JobRecord,
  request: ResourceRequest,
  queues: Queues = queuesOf(),
): WaitingJob {
  return {
    id: job.id,
    user: job.user,
    queue: job.queue,
    // A queue removed from the configuration since: its jobs are planned last.
    queuePriority: queues.get(job.queue)?.priority ?? -1_000_000,
    submittedAt: job.submittedAt,
    request,
    walltime: job.walltime,
    hold: job.state === "hold",
    reservationAt: job.reservationAt,
    besteffort: isBesteffort(job, queues),
  };
}
