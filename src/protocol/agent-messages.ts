// The wire contract between the server and its agents (embedded or remote), versioned.

export const AGENT_PROTOCOL_VERSION = 1;

/** Everything an agent needs to run one job's command; handed over once per lease. */
export interface Lease {
  leaseId: string;
  jobId: number;
  jobName: string | null;
  user: string;
  command: string;
  directory: string;
  /** Absolute paths of the output files. */
  stdoutPath: string;
  stderrPath: string;
  /** Seconds. */
  walltime: number;
  /** Head node first; each node with the cores given on it. */
  nodes: { node: string; cores: number }[];
  /** Extra environment the submitter asked for. */
  env: Record<string, string>;
}

export type ServerToAgent =
  | { type: "welcome"; version: number }
  | { type: "run"; lease: Lease }
  | { type: "kill"; leaseId: string; jobId: number; reason: string };

export type AgentToServer =
  | { type: "hello"; version: number; node: string; running: { leaseId: string; jobId: number }[] }
  | { type: "started"; leaseId: string; jobId: number; pid: number; at: number }
  | {
      type: "finished";
      leaseId: string;
      jobId: number;
      exitCode: number | null;
      signal: string | null;
      walltimeExceeded: boolean;
      at: number;
    }
  | { type: "failed"; leaseId: string; jobId: number; reason: string; at: number };

/** One side of an agent connection, whatever carries it (in-process today, HTTP/WebSocket later). */
export interface AgentChannel<In, Out> {
  send(msg: Out): void;
  onMessage(handler: (msg: In) => void): void;
  onClose(handler: () => void): void;
  close(): void;
}

/** Reads a byte range of a file on the agent's node (job output stays on the node). */
export interface OutputReader {
  /** A stream of the file from `offset`, or null when the file does not exist. */
  openOutput(path: string, offset: number): Promise<import("node:stream").Readable | null>;
}
