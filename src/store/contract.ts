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

/** When a server last heard from a node's agent (any message). */
export interface NodeHeard {
  node: string;
  site: string;
  /** The server that heard it (`host/pid`). */
  server: string;
  at: number;
}

/** A server holds a node's agent connection (since when). */
export interface AgentConnection {
  node: string;
  site: string;
  server: string;
  since: number;
}

export const AGENT_MESSAGE_KINDS = ["run", "kill", "walltime", "exec-kill"] as const;
export type AgentMessageKind = (typeof AGENT_MESSAGE_KINDS)[number];

/**
 * What must reach a node's agent, left by the server that decided it for the server that holds
 * the agent's connection. A `run` or `walltime` names the job (its row says the rest, read at
 * delivery); a `kill` its lease and reason.
 */
export interface AgentMessage {
  node: string;
  site: string;
  kind: AgentMessageKind;
  jobId: number;
  leaseId: string | null;
  reason: string | null;
  at: number;
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
  /**
   * Change a user's role, disabled flag or token stamp; false when there is no such user, or
   * (`keepAnAdmin`) when it is an enabled admin and no other enabled admin exists: checked and
   * changed atomically.
   */
  updateUser(name: string, patch: UserPatch, o?: { keepAnAdmin?: boolean }): Promise<boolean>;
  /** Delete a user's row (their jobs stay); false when there was none, or as `updateUser`. */
  deleteUser(name: string, o?: { keepAnAdmin?: boolean }): Promise<boolean>;

  /**
   * Jobs that ended (terminated or error) at or after `since`, having started: what fair-share
   * usage is rebuilt from after a restart. Oldest end first, at most `limit`.
   */
  listJobsEndedSince(since: number, limit: number): Promise<JobRecord[]>;

  /** Record that servers heard from nodes; a row keeps the latest time per (node, server). */
  recordHeard(items: NodeHeard[]): Promise<void>;
  /** Every server's last word from the site's nodes. */
  listHeard(site: string): Promise<NodeHeard[]>;

  /** A server took a node's agent connection: it replaces any earlier holder (newest wins). */
  connectAgent(c: AgentConnection): Promise<void>;
  /** The connection closed: removed only if `server` still holds it. */
  disconnectAgent(node: string, server: string): Promise<void>;
  listAgentConnections(site: string): Promise<AgentConnection[]>;

  /**
   * Take or renew the lease on leading a site until `until`: granted when nobody holds it, when
   * the holder's lease ended before `now`, or when `server` holds it already. True: `server` leads.
   */
  claimLeadership(site: string, server: string, until: number, now: number): Promise<boolean>;
  /** Give a site's lease up (a server stopping): another server may take it at once. */
  releaseLeadership(site: string, server: string): Promise<void>;

  /** Leave messages for the agents of their nodes (delivered by whichever server holds each). */
  queueAgentMessages(items: AgentMessage[]): Promise<void>;
  /** Remove and return the messages for these nodes, in the order they were queued per writer. */
  takeAgentMessages(nodes: string[]): Promise<AgentMessage[]>;
  /** Drop messages queued before `before` that nobody delivered; returns how many. */
  purgeAgentMessages(before: number): Promise<number>;
  /**
   * A number that grows whenever any server changes a job (the newest job event's id): the
   * leader compares it between ticks to learn of submissions and reports recorded elsewhere.
   */
  changeMarker(): Promise<number>;

  /** A node's current agent credential: only its SHA-256 (hex) is kept. Replaces any previous one. */
  setNodeCredential(site: string, node: string, digest: string, at: number): Promise<void>;
  getNodeCredential(site: string, node: string): Promise<string | undefined>;

  /** A small key-value area for server-wide facts (first-start marker, schema version). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
}
