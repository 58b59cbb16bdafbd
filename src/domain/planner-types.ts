// The planner's input and output: running allocations and waiting jobs in, starts and predictions out.

import type { NodeInfo } from "./node.ts";
import type { ResourceRequest } from "./resource-request.ts";

/** Cores given to a job on one node. */
export interface NodeCores {
  uid: string;
  cores: number;
}

/** A job holding resources (`launching` or `running`). */
export interface RunningJob {
  id: number;
  user: string;
  besteffort: boolean;
  /** Unix seconds. Expected end = startedAt + walltime. */
  startedAt: number;
  walltime: number;
  nodes: NodeCores[];
}

/** A job the planner may start or predict. */
export interface WaitingJob {
  id: number;
  user: string;
  queue: string;
  /** Higher runs first (from the queue's configuration). */
  queuePriority: number;
  /** Unix seconds. */
  submittedAt: number;
  request: ResourceRequest;
  /** Seconds (the request's, or the queue's default, resolved by the caller). */
  walltime: number;
  hold?: boolean;
  /** False while an `after:`/`afterok:` dependency has not ended; default true. */
  dependenciesMet?: boolean;
  /** Advance reservation start (unix seconds), or absent. */
  reservationAt?: number | null;
  besteffort?: boolean;
}

export interface FairShare {
  /**
   * Seconds of age a user loses at 100% of recent usage: a job's priority age is
   * `submittedAt + weight * usage[user] / sum(usage)`. 0 disables fair-share.
   */
  weight: number;
  /** Recent usage per user (e.g. decayed core-seconds), any unit. */
  usage: Readonly<Record<string, number>>;
}

export interface PlanInput {
  /** Unix seconds, integer. */
  now: number;
  /** Schedulable nodes (alive, not drained): the caller filters. */
  nodes: readonly NodeInfo[];
  running: readonly RunningJob[];
  waiting: readonly WaitingJob[];
  fairShare?: FairShare;
  /** Conservative backfilling (default true). False: no job starts before one ahead of it. */
  backfill?: boolean;
  /**
   * 0 or absent: plan exact walltimes. N (a power of two, e.g. 8): reserve each waiting job's
   * walltime rounded up to N values per doubling (at most 100/N % more), like Slurm's
   * bf_resolution. Worth it when walltimes are all different (e.g. computed by a tool): the pass
   * then reuses its proofs across jobs (10x faster on 100k jobs with random walltimes). Jobs are
   * still killed at their own walltime; only predictions and backfill holes are coarser.
   */
  walltimeSteps?: number;
}

export const PENDING_REASONS = ["resources", "priority", "dependency", "hold", "reservation"] as const;
export type PendingReason = (typeof PENDING_REASONS)[number];

/** The planner's verdict on one waiting job. */
export interface JobPlan {
  id: number;
  /** Predicted start (unix seconds); `now` for jobs to start; null when unknown or never. */
  scheduledAt: number | null;
  /** Null when the job starts now. */
  reason: PendingReason | null;
  /** Planned nodes with cores each, head node first; null when not placed. */
  nodes: NodeCores[] | null;
  /** For people: why a job cannot be placed at all. */
  message?: string;
}

/** A job to start now on exactly these nodes (head node first). */
export interface JobStart {
  id: number;
  nodes: NodeCores[];
}

/** A running besteffort job to kill because `byJob` needs its cores now. */
export interface Preemption {
  id: number;
  byJob: number;
  message: string;
}

export interface Plan {
  starts: JobStart[];
  /** Every waiting job, in priority order (the order the planner placed them). */
  jobs: JobPlan[];
  preempt: Preemption[];
}
