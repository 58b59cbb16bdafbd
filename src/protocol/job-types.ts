// The wire types of the jobs API as clients see them (SDK, CLI, dashboard).

export type JobStateName = "waiting" | "hold" | "launching" | "running" | "terminated" | "error";

export interface JobView {
  uid: number;
  user: string;
  user_uid: string;
  state: JobStateName;
  queue: string;
  name?: string;
  project?: string;
  command: string;
  resources: string;
  properties?: string;
  types: string[];
  mode: string;
  walltime: number;
  submitted_at: number;
  scheduled_at?: number;
  /** Why a waiting job has not started: resources, priority, dependency, hold, reservation. */
  pending_reason?: string;
  dependencies?: string[];
  array_id?: number;
  array_index?: number;
  started_at?: number;
  stopped_at?: number;
  exit_code?: number;
  message?: string;
  directory: string;
  assigned_nodes: string[];
  events: { uid: number; created_at: number; type: string; description: string }[];
  links: { rel: string; href: string; type: string }[];
}

export interface Collection<T> {
  total: number;
  offset: number;
  items: T[];
  links: { rel: string; href: string; type: string }[];
}

export interface SubmitJobRequest {
  command: string;
  resources?: string;
  walltime?: string | number;
  name?: string;
  project?: string;
  queue?: string;
  directory?: string;
  stdout?: string;
  stderr?: string;
  properties?: string;
  types?: string[];
  hold?: boolean;
  env?: Record<string, string>;
  /** Advance reservation start, `YYYY-MM-DD hh:mm:ss` in the server's time zone. */
  reservation?: string;
  /** `after:ID`, `afterok:ID`, `afterany:ID`. */
  dependencies?: string[];
  /** Submit N jobs (an array), each with GRIDQ_ARRAY_INDEX/OAR_ARRAY_INDEX from 0. */
  array?: number;
}

export interface ErrorBody {
  code: string;
  message: string;
  status: number;
  request_id?: string;
}

export const FINAL_JOB_STATES: readonly JobStateName[] = ["terminated", "error"];
