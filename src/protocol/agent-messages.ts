// The wire contract between the server and its agents (embedded or remote), versioned.
// Transports: Node IPC for the embedded agent, WebSocket (`/3.0/sites/{site}/agents/connect`,
// one JSON message per text frame) for `gridq agent`. See docs/agents.md for the whole model.

/**
 * Bumped on any incompatible change; the server refuses a hello with another version.
 * 3: jobs run as their submitter's account and `createDirectory` is honoured (an agent of
 * version 2 ran them as `nobody` and ignored it).
 */
export const AGENT_PROTOCOL_VERSION = 3;

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
  /**
   * The directory is the submitter's own folder in the server's jobs folder (the job named
   * none): the agent creates it for the job's account when missing (0700). Output files are
   * always opened by the job's account, never by the agent.
   */
  createDirectory?: boolean;
  /** A token for the job's own calls to the server (`gridq exec`), and the server's URL. */
  jobToken?: string;
  serverUrl?: string;
  site?: string;
}

/** A lease the agent knows: still running, or finished with a result not yet acknowledged. */
export interface KnownLease {
  leaseId: string;
  jobId: number;
  done: boolean;
}

export type ServerToAgent =
  /**
   * Answer to a good hello: `heartbeat` is the seconds between the agent's heartbeats, `metrics`
   * between its node samples (0: none).
   */
  | { type: "welcome"; version: number; heartbeat: number; metrics: number }
  /**
   * Answer to a refused hello, just before the server closes the connection. With `retry`, the
   * refusal is for now (another agent holds the node's connection): try again later; without it,
   * trying again will not help.
   */
  | { type: "reject"; reason: string; retry?: boolean }
  | { type: "run"; lease: Lease }
  | { type: "kill"; leaseId: string; jobId: number; reason: string }
  /** The job's walltime (seconds from its start) changed: the agent re-arms its timer. */
  | { type: "walltime"; leaseId: string; jobId: number; walltime: number }
  /** The final report of this lease is recorded: the agent may forget it. */
  | { type: "ack"; leaseId: string }
  /** Send the bytes of a file on the node from `offset`; with `follow`, until the job ends. */
  | {
      type: "read";
      stream: number;
      path: string;
      offset: number;
      follow: boolean;
      jobId: number;
      /** The job's submitter: a root agent serves only files its job account owns. */
      user: string;
    }
  /** Stop sending this read, or kill this exec (the HTTP client went away). */
  | { type: "read-cancel"; stream: number }
  /** Run a command for a job on this node (`gridq exec`): output as `data` (fd 1, 2), then `end`. */
  | {
      type: "exec";
      stream: number;
      jobId: number;
      user: string;
      command: string;
      directory: string;
      env: Record<string, string>;
    }
  /** The job ended: kill what `exec` started for it on this node. */
  | { type: "exec-kill"; jobId: number };

export type AgentToServer =
  | { type: "hello"; version: number; node: string; running: KnownLease[] }
  | { type: "heartbeat"; at: number }
  /** A sample of the node (load, CPU, memory, jobs): metric name → value. */
  | { type: "metrics"; at: number; values: Record<string, number> }
  | { type: "started"; leaseId: string; jobId: number; pid: number; at: number }
  | {
      type: "finished";
      leaseId: string;
      jobId: number;
      exitCode: number | null;
      signal: string | null;
      walltimeExceeded: boolean;
      at: number;
      /** Why the exit status is unknown (the process vanished while no agent watched it). */
      note?: string;
    }
  | { type: "failed"; leaseId: string; jobId: number; reason: string; at: number }
  /** Bytes of a read (base64), in order; `end` closes it, with `missing` when there is no file. */
  | { type: "data"; stream: number; chunk: string; fd?: 1 | 2 }
  | {
      type: "end";
      stream: number;
      missing?: boolean;
      refused?: string;
      error?: string;
      /** For an exec: the command's exit status. */
      exitCode?: number;
    };

/** Reports that change a job's state. */
export type JobReport = Extract<AgentToServer, { type: "started" | "finished" | "failed" }>;

/** One side of an agent connection, whatever carries it (IPC, WebSocket, in-process). */
export interface AgentChannel<In, Out> {
  send(msg: Out): void;
  onMessage(handler: (msg: In) => void): void;
  onClose(handler: () => void): void;
  close(): void;
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isStr = (v: unknown, max = 4096): v is string => typeof v === "string" && v.length <= max;

/** Check a message from an agent (it crossed a network): the message, or null when malformed. */
export function checkAgentMessage(m: unknown): AgentToServer | null {
  if (!m || typeof m !== "object") return null;
  const o = m as Record<string, unknown>;
  const lease = () => isStr(o.leaseId, 64) && isNum(o.jobId);
  switch (o.type) {
    case "hello":
      return isNum(o.version) &&
        isStr(o.node, 64) &&
        Array.isArray(o.running) &&
        o.running.every(
          (k: { leaseId?: unknown; jobId?: unknown }) => k && isStr(k.leaseId, 64) && isNum(k.jobId),
        )
        ? (o as AgentToServer)
        : null;
    case "heartbeat":
      return isNum(o.at) ? (o as AgentToServer) : null;
    case "metrics": {
      const v = o.values as Record<string, unknown> | null;
      return isNum(o.at) &&
        v !== null &&
        typeof v === "object" &&
        Object.keys(v).length <= 64 &&
        Object.entries(v).every(([k, x]) => k.length <= 64 && isNum(x))
        ? (o as AgentToServer)
        : null;
    }
    case "started":
      return lease() && isNum(o.pid) && isNum(o.at) ? (o as AgentToServer) : null;
    case "finished":
      return lease() &&
        isNum(o.at) &&
        (o.exitCode === null || isNum(o.exitCode)) &&
        (o.signal === null || isStr(o.signal, 32)) &&
        typeof o.walltimeExceeded === "boolean" &&
        (o.note === undefined || isStr(o.note))
        ? (o as AgentToServer)
        : null;
    case "failed":
      return lease() && isStr(o.reason) && isNum(o.at) ? (o as AgentToServer) : null;
    case "data":
      return isNum(o.stream) &&
        typeof o.chunk === "string" &&
        (o.fd === undefined || o.fd === 1 || o.fd === 2)
        ? (o as AgentToServer)
        : null;
    case "end":
      return isNum(o.stream) &&
        (o.refused === undefined || isStr(o.refused)) &&
        (o.error === undefined || isStr(o.error))
        ? (o as AgentToServer)
        : null;
    default:
      return null;
  }
}
