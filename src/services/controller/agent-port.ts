// The one way the controller reaches execution: run, kill, walltime, read output, exec. The
// agent hub implements it over agents' connections; a Slurm backend could implement it too.

import type { Readable } from "node:stream";
import type { JobRecord } from "../../domain/job.ts";

/** A run on a node: what a kill names. */
export interface LeaseRef {
  node: string;
  leaseId: string;
  jobId: number;
}

export interface ReadRequest {
  path: string;
  offset: number;
  follow: boolean;
  jobId: number;
  user: string;
}

export interface ExecRequest {
  jobId: number;
  user: string;
  command: string;
  directory: string;
  env: Record<string, string>;
}

export type ReadResult = Readable | null | { refused: string } | "unreachable";

export interface AgentPort {
  /** Nodes of a site whose agent is connected to this server now. */
  connected(site: string): ReadonlySet<string>;
  /** Hand a job's lease (state `launching`) to the agent of its head node. */
  run(job: JobRecord): void;
  /** End a run's processes (its agent then reports how it ended). */
  kill(lease: LeaseRef, reason: string): void;
  /** Tell a running job's agent its new walltime. */
  walltime(job: JobRecord): void;
  /** A job ended: what `gridq exec` started for it on `node` ends too. */
  endExecs(node: string, jobId: number): void;
  /** A file on a node (a job's output); null when it does not exist. */
  readOutput(node: string, r: ReadRequest): Promise<ReadResult>;
  /** Run a command on a node for a job: NDJSON events, or null when the node is not connected. */
  exec(node: string, r: ExecRequest): Readable | null;
}

/** The head node's run of a job, when it has one. */
export function headLease(job: JobRecord): LeaseRef | null {
  const node = job.assignedNodes[0]?.node;
  return node && job.leaseId ? { node, leaseId: job.leaseId, jobId: job.id } : null;
}
