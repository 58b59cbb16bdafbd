// The job lifecycle as a pure state machine: states, events and the transitions between them.

import { GridqError } from "./errors.ts";
import type { NodeAllocation } from "./node.ts";

/** Grid'5000's user-visible job states. */
export const JOB_STATES = ["waiting", "hold", "launching", "running", "terminated", "error"] as const;
export type JobState = (typeof JOB_STATES)[number];

export const ACTIVE_STATES: readonly JobState[] = ["waiting", "hold", "launching", "running"];
export const FINAL_STATES: readonly JobState[] = ["terminated", "error"];

export const isFinal = (s: JobState): boolean => s === "terminated" || s === "error";

/** What can happen to a job. `at` is UNIX seconds (with fraction) from the caller's clock. */
export type JobEvent =
  | { type: "hold"; at: number; by: string }
  | { type: "resume"; at: number; by: string }
  | { type: "schedule"; at: number; nodes: NodeAllocation[]; leaseId: string }
  | { type: "start"; at: number; leaseId: string; pid?: number }
  | { type: "finish"; at: number; leaseId: string; exitCode: number | null; signal?: string | null }
  | { type: "launch-failed"; at: number; leaseId: string; reason: string }
  | {
      type: "walltime-exceeded";
      at: number;
      leaseId: string;
      exitCode: number | null;
      signal?: string | null;
    }
  | { type: "cancel"; at: number; by: string }
  | { type: "preempt"; at: number; reason: string }
  | { type: "dependency-failed"; at: number; reason: string }
  | { type: "walltime-change"; at: number; walltime: number; by: string }
  | { type: "node-lost"; at: number; node: string };

export type JobEventType = JobEvent["type"];

/** The part of a job the state machine reads. */
export interface JobStatus {
  state: JobState;
  leaseId: string | null;
  cancelRequested: boolean;
}

/** The fields a transition changes; undefined means "unchanged". */
export interface JobPatch {
  state: JobState;
  leaseId?: string | null;
  assignedNodes?: NodeAllocation[];
  scheduledAt?: number;
  /** Seconds (a granted walltime change). */
  walltime?: number;
  startedAt?: number;
  stoppedAt?: number;
  exitCode?: number | null;
  message?: string;
  cancelRequested?: boolean;
}

/** Side effects the caller must carry out; each is idempotent. */
export type JobEffect = { type: "kill"; leaseId: string; reason: string } | { type: "release"; nodes: "all" };

export interface Transition {
  patch: JobPatch;
  effects: JobEffect[];
  /** Human text for the event log. */
  description: string;
}

const conflict = (s: JobStatus, e: JobEvent): GridqError =>
  new GridqError("GRIDQ_CONFLICT", `cannot ${e.type} a job in state '${s.state}'`, {
    state: s.state,
    event: e.type,
  });

const leaseMatches = (s: JobStatus, leaseId: string): boolean => s.leaseId === leaseId;

/**
 * The single source of truth for job transitions. Throws GRIDQ_CONFLICT for an event the
 * current state does not allow; a report for a stale lease is a conflict too, so a result is
 * never recorded twice.
 */
export function transition(s: JobStatus, e: JobEvent): Transition {
  switch (e.type) {
    case "hold":
      if (s.state !== "waiting") throw conflict(s, e);
      return { patch: { state: "hold" }, effects: [], description: `held by ${e.by}` };
    case "resume":
      if (s.state !== "hold") throw conflict(s, e);
      return { patch: { state: "waiting" }, effects: [], description: `resumed by ${e.by}` };
    case "schedule":
      if (s.state !== "waiting") throw conflict(s, e);
      return {
        patch: { state: "launching", leaseId: e.leaseId, assignedNodes: e.nodes, scheduledAt: e.at },
        effects: [],
        description: `scheduled on ${e.nodes.map((n) => `${n.node}(${n.cores})`).join(",")}`,
      };
    case "start":
      if (s.state !== "launching" || !leaseMatches(s, e.leaseId)) throw conflict(s, e);
      return {
        patch: { state: "running", startedAt: e.at },
        effects: [],
        description: e.pid === undefined ? "started" : `started (pid ${e.pid})`,
      };
    case "finish": {
      if ((s.state !== "running" && s.state !== "launching") || !leaseMatches(s, e.leaseId))
        throw conflict(s, e);
      if (s.cancelRequested) {
        return {
          patch: { state: "error", stoppedAt: e.at, exitCode: e.exitCode, message: "canceled by user" },
          effects: [{ type: "release", nodes: "all" }],
          description: "killed after cancellation",
        };
      }
      const how = e.signal ? `killed by ${e.signal}` : `exit code ${e.exitCode}`;
      return {
        patch: { state: "terminated", stoppedAt: e.at, exitCode: e.exitCode, message: how },
        effects: [{ type: "release", nodes: "all" }],
        description: `terminated (${how})`,
      };
    }
    case "walltime-exceeded":
      if ((s.state !== "running" && s.state !== "launching") || !leaseMatches(s, e.leaseId))
        throw conflict(s, e);
      return {
        patch: { state: "error", stoppedAt: e.at, exitCode: e.exitCode, message: "walltime exceeded" },
        effects: [{ type: "release", nodes: "all" }],
        description: "killed: walltime exceeded",
      };
    case "launch-failed":
      if ((s.state !== "launching" && s.state !== "running") || !leaseMatches(s, e.leaseId))
        throw conflict(s, e);
      return {
        patch: { state: "error", stoppedAt: e.at, exitCode: null, message: `failed to launch: ${e.reason}` },
        effects: [{ type: "release", nodes: "all" }],
        description: `failed to launch: ${e.reason}`,
      };
    case "cancel":
      if (s.state === "waiting" || s.state === "hold") {
        return {
          patch: { state: "error", stoppedAt: e.at, message: `canceled by ${e.by} before start` },
          effects: [],
          description: `canceled by ${e.by}`,
        };
      }
      if (s.state === "launching" || s.state === "running") {
        // The job stays active until its agent reports the process gone: only then are its
        // cores free again, so a canceled job never overlaps the next one on a node.
        return {
          patch: { state: s.state, cancelRequested: true },
          effects: s.leaseId ? [{ type: "kill", leaseId: s.leaseId, reason: `canceled by ${e.by}` }] : [],
          description: `cancel requested by ${e.by}`,
        };
      }
      throw conflict(s, e);
    case "preempt":
      // A besteffort job gives its cores back at once: the job needing them starts in the same
      // pass, and the kill sent to the agent ends the process (its late report is stale).
      if (s.state !== "launching" && s.state !== "running") throw conflict(s, e);
      return {
        patch: { state: "error", stoppedAt: e.at, exitCode: null, message: e.reason },
        effects: [
          ...(s.leaseId ? [{ type: "kill" as const, leaseId: s.leaseId, reason: e.reason }] : []),
          { type: "release", nodes: "all" },
        ],
        description: e.reason,
      };
    case "dependency-failed":
      if (s.state !== "waiting" && s.state !== "hold") throw conflict(s, e);
      return {
        patch: { state: "error", stoppedAt: e.at, message: e.reason },
        effects: [],
        description: e.reason,
      };
    case "walltime-change":
      if (s.state === "terminated" || s.state === "error") throw conflict(s, e);
      return {
        patch: { state: s.state, walltime: e.walltime },
        effects: [],
        description: `walltime set to ${e.walltime} s by ${e.by}`,
      };
    case "node-lost":
      if (s.state !== "launching" && s.state !== "running") throw conflict(s, e);
      return {
        patch: { state: "error", stoppedAt: e.at, exitCode: null, message: `node ${e.node} lost` },
        effects: [{ type: "release", nodes: "all" }],
        description: `node ${e.node} lost`,
      };
  }
}

/** The log name of an event type: `walltime-exceeded` → `WALLTIME_EXCEEDED`. */
export const eventName = (t: JobEventType): string => t.toUpperCase().replaceAll("-", "_");
