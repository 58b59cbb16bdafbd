// Table shapes shared by every engine (Kysely's typed view of the database) and row mapping.

import type { Generated, Selectable } from "kysely";
import type { JobEventRecord, JobRecord, UserRecord } from "../domain/job.ts";
import type { JobPatch, JobState } from "../domain/job-state.ts";

export interface JobsTable {
  id: Generated<number>;
  site: string;
  user: string;
  state: string;
  queue: string;
  name: string | null;
  project: string | null;
  command: string;
  resources: string;
  properties: string | null;
  types: string; // JSON array
  walltime: number;
  directory: string;
  stdout: string;
  stderr: string;
  env: string; // JSON object
  submitted_at: number;
  scheduled_at: number | null;
  started_at: number | null;
  stopped_at: number | null;
  exit_code: number | null;
  message: string | null;
  lease_id: string | null;
  assigned_nodes: string; // JSON array of {node, cores}
  cancel_requested: number;
  pending_reason: string | null;
  dependencies: string; // JSON array
  reservation_at: number | null;
  array_id: number | null;
  array_index: number | null;
}

export interface JobEventsTable {
  id: Generated<number>;
  job_id: number;
  created_at: number;
  type: string;
  description: string;
}

export interface UsersTable {
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
  disabled: Generated<number>;
  tokens_not_before: number | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface NodeHeardTable {
  node: string;
  server: string;
  site: string;
  heard_at: number;
}

export interface NodeCredentialsTable {
  site: string;
  node: string;
  digest: string;
  issued_at: number;
}

export interface AgentConnectionsTable {
  node: string;
  site: string;
  server: string;
  since: number;
}

export interface SiteLeadersTable {
  site: string;
  server: string;
  until: number;
}

export interface Database {
  jobs: JobsTable;
  job_events: JobEventsTable;
  users: UsersTable;
  meta: MetaTable;
  node_heard: NodeHeardTable;
  node_credentials: NodeCredentialsTable;
  site_leaders: SiteLeadersTable;
  agent_connections: AgentConnectionsTable;
}

export function jobFromRow(r: Selectable<JobsTable>): JobRecord {
  return {
    id: Number(r.id),
    site: r.site,
    user: r.user,
    state: r.state as JobState,
    queue: r.queue,
    name: r.name,
    project: r.project,
    command: r.command,
    resources: r.resources,
    properties: r.properties,
    types: JSON.parse(r.types),
    walltime: Number(r.walltime),
    directory: r.directory,
    stdout: r.stdout,
    stderr: r.stderr,
    env: JSON.parse(r.env),
    submittedAt: Number(r.submitted_at),
    scheduledAt: r.scheduled_at === null ? null : Number(r.scheduled_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    stoppedAt: r.stopped_at === null ? null : Number(r.stopped_at),
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    message: r.message,
    leaseId: r.lease_id,
    assignedNodes: JSON.parse(r.assigned_nodes),
    cancelRequested: Boolean(r.cancel_requested),
    pendingReason: r.pending_reason ?? null,
    dependencies: JSON.parse(r.dependencies ?? "[]"),
    reservationAt:
      r.reservation_at === null || r.reservation_at === undefined ? null : Number(r.reservation_at),
    // The first job of an array stores no array id: the array's id is its own.
    arrayId:
      r.array_id !== null && r.array_id !== undefined
        ? Number(r.array_id)
        : r.array_index !== null && r.array_index !== undefined
          ? Number(r.id)
          : null,
    arrayIndex: r.array_index === null || r.array_index === undefined ? null : Number(r.array_index),
  };
}

/** The columns a patch sets; undefined fields are left alone. */
export function patchToColumns(p: JobPatch): Partial<Omit<JobsTable, "id">> {
  const c: Partial<Omit<JobsTable, "id">> = { state: p.state };
  if (p.leaseId !== undefined) c.lease_id = p.leaseId;
  if (p.assignedNodes !== undefined) c.assigned_nodes = JSON.stringify(p.assignedNodes);
  if (p.scheduledAt !== undefined) c.scheduled_at = p.scheduledAt;
  if (p.walltime !== undefined) c.walltime = p.walltime;
  if (p.startedAt !== undefined) c.started_at = p.startedAt;
  if (p.stoppedAt !== undefined) c.stopped_at = p.stoppedAt;
  if (p.exitCode !== undefined) c.exit_code = p.exitCode;
  if (p.message !== undefined) c.message = p.message;
  if (p.cancelRequested !== undefined) c.cancel_requested = p.cancelRequested ? 1 : 0;
  // A pending reason means something only while the job waits.
  if (p.state !== "waiting" && p.state !== "hold") c.pending_reason = null;
  return c;
}

export function eventFromRow(r: Selectable<JobEventsTable>): JobEventRecord {
  return {
    id: Number(r.id),
    jobId: Number(r.job_id),
    createdAt: Number(r.created_at),
    type: r.type,
    description: r.description,
  };
}

export function userFromRow(r: Selectable<UsersTable>): UserRecord {
  return {
    name: r.name,
    role: r.role === "admin" ? "admin" : "user",
    passwordHash: r.password_hash,
    createdAt: Number(r.created_at),
    disabled: Number(r.disabled) !== 0,
    tokensNotBefore: r.tokens_not_before === null ? null : Number(r.tokens_not_before),
  };
}
