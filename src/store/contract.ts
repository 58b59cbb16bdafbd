// The store contract in domain verbs. Engines implement it; services see only this.
// It never assumes one writer in one process: every state change is a compare-and-set.

import type { JobEventRecord, JobRecord, NewJob, UserPatch, UserRecord } from "../domain/job.ts";
import type { JobPatch, JobState } from "../domain/job-state.ts";

export interface JobFilter {
  site?: string;
  states?: JobState[];
  user?: string;
  name?: string;
  queue?: string;
  project?: string;
  ids?: number[];
  offset: number;
  limit: number;
}

/** One compare-and-set: applied only if the job is still in `expect.state` (and lease). */
export interface JobUpdate {
  id: number;
  expect: { state: JobState; leaseId?: string | null };
  patch: JobPatch;
  event: { at: number; type: string; description: string };
}

/** What may change about a job while it waits. */
export interface WaitingBrief {
  id: number;
  state: JobState;
  walltime: number;
}

/** A waiting job's predicted start (unix seconds, null: unknown) and why it waits. */
export interface JobPrediction {
  id: number;
  scheduledAt: number | null;
  reason: string | null;
}

export interface StoreCapabilities {
  /** Several server processes may share this store (PostgreSQL), or one only (SQLite file). */
  multiProcess: boolean;
}

export interface Store {
  readonly engine: string;
  readonly capabilities: StoreCapabilities;

  /** Create or upgrade the schema. Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Insert a job and its SUBMIT event atomically; durable when the promise resolves. */
  insertJob(job: NewJob, event: { at: number; description: string }): Promise<JobRecord>;
  getJob(id: number): Promise<JobRecord | undefined>;
  /** Newest first. */
  listJobs(filter: JobFilter): Promise<{ total: number; items: JobRecord[] }>;
  /** Jobs of a site in the given states, oldest first, at most `limit`. */
  listJobsInStates(site: string, states: JobState[], limit: number): Promise<JobRecord[]>;
  /**
   * Apply compare-and-set updates in one transaction. Returns, in order, the updated job or
   * null when its expectation no longer held (someone else moved it first).
   */
  updateJobs(updates: JobUpdate[]): Promise<(JobRecord | null)[]>;
  /**
   * Waiting and held jobs of a site, oldest first, with only what changes while a job waits
   * (state, walltime): the scheduler keeps the rest of each job in memory between passes.
   */
  listWaitingBrief(site: string): Promise<WaitingBrief[]>;
  /**
   * Write the planner's predictions (start time, pending reason) of jobs still waiting or held;
   * other jobs are left alone. No event: predictions change on every pass.
   */
  setPredictions(items: JobPrediction[]): Promise<void>;
  /** Events of the given jobs, oldest first, grouped by job id. */
  listEvents(jobIds: number[]): Promise<Map<number, JobEventRecord[]>>;
  appendEvent(jobId: number, event: { at: number; type: string; description: string }): Promise<void>;
  /** Delete a job and its events if it is still in one of `states`; false when it was not. */
  forgetJob(id: number, states: JobState[]): Promise<boolean>;

  insertUser(user: UserRecord): Promise<void>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  setPassword(name: string, passwordHash: string): Promise<boolean>;
  /** Change a user's role, disabled flag or token stamp; false when there is no such user. */
  updateUser(name: string, patch: UserPatch): Promise<boolean>;
  /** Delete a user's row (their jobs stay); false when there was none. */
  deleteUser(name: string): Promise<boolean>;

  /** A small key-value area for server-wide facts (first-start marker, schema version). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
}
