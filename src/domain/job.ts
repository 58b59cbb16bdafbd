// The job record as every layer sees it (times are UNIX seconds with fractions).

import type { JobState } from "./job-state.ts";
import type { NodeAllocation } from "./node.ts";

export type { NodeAllocation };

export interface JobRecord {
  id: number;
  site: string;
  user: string;
  state: JobState;
  queue: string;
  name: string | null;
  project: string | null;
  command: string;
  /** The resource request as written (`nodes=1/core=2`). */
  resources: string;
  properties: string | null;
  types: string[];
  /** Seconds. */
  walltime: number;
  directory: string;
  /** Output file patterns (`OAR.%jobid%.stdout`), relative to `directory` unless absolute. */
  stdout: string;
  stderr: string;
  env: Record<string, string>;
  submittedAt: number;
  scheduledAt: number | null;
  startedAt: number | null;
  stoppedAt: number | null;
  exitCode: number | null;
  message: string | null;
  leaseId: string | null;
  assignedNodes: NodeAllocation[];
  cancelRequested: boolean;
  /** `after:ID` (starts once job ID has started), `afterok:ID` (once it terminated with exit code 0), `afterany:ID` (once it ended). */
  dependencies: string[];
  /** Advance reservation: the job starts exactly then (unix seconds), or null. */
  reservationAt: number | null;
  /** Job arrays (`array=N`): the array's id (its first job's id) and this job's index from 0. */
  arrayId: number | null;
  arrayIndex: number | null;
  /** Why a waiting job has not started (`resources`, `priority`, `dependency`, `hold`, `reservation`). */
  pendingReason: string | null;
}

/** What a submission stores; the store assigns `id`, state `waiting` (or `hold`). */
export type NewJob = Omit<
  JobRecord,
  | "id"
  | "state"
  | "scheduledAt"
  | "startedAt"
  | "stoppedAt"
  | "exitCode"
  | "message"
  | "leaseId"
  | "assignedNodes"
  | "cancelRequested"
  | "pendingReason"
  | "arrayId"
> & {
  hold: boolean;
  /** The array's id for its jobs after the first (the first job's id is the array's). */
  arrayOf: number | null;
};

export interface JobEventRecord {
  id: number;
  jobId: number;
  createdAt: number;
  /** Upper-case event name: SUBMIT, SCHEDULE, START, FINISH, CANCEL, ... */
  type: string;
  description: string;
}

/** Expand `%jobid%` and `%jobname%` in an output-file pattern, as OAR does. */
export function expandOutputPattern(pattern: string, job: Pick<JobRecord, "id" | "name">): string {
  return pattern.replaceAll("%jobid%", String(job.id)).replaceAll("%jobname%", job.name ?? "");
}

export type UserRole = "admin" | "user";

export interface UserRecord {
  name: string;
  role: UserRole;
  passwordHash: string;
  createdAt: number;
  /** A disabled user's credentials and tokens are refused; their row (and jobs) stay. */
  disabled: boolean;
  /** Tokens issued before this instant (unix seconds) are refused; null: none revoked. */
  tokensNotBefore: number | null;
}

/** What an admin may change about a user (the password has its own verb). */
export interface UserPatch {
  role?: UserRole;
  disabled?: boolean;
  tokensNotBefore?: number | null;
}
