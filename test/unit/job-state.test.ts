// The job state machine: every allowed transition, every refused one, leases and cancellation.

import assert from "node:assert/strict";
import { test } from "node:test";
import { GridqError } from "../../src/domain/errors.ts";
import {
  eventName,
  JOB_STATES,
  type JobEffect,
  type JobEvent,
  type JobEventType,
  type JobState,
  type JobStatus,
  type Transition,
  transition,
} from "../../src/domain/job-state.ts";

const AT = 1_764_000_000.5;
const LEASE = "lease-1";
const NODES = [
  { node: "n1", cores: 4 },
  { node: "n2", cores: 2 },
];

const EVENTS: Record<JobEventType, JobEvent> = {
  hold: { type: "hold", at: AT, by: "alice" },
  resume: { type: "resume", at: AT, by: "alice" },
  schedule: { type: "schedule", at: AT, nodes: NODES, leaseId: LEASE },
  start: { type: "start", at: AT, leaseId: LEASE, pid: 42 },
  finish: { type: "finish", at: AT, leaseId: LEASE, exitCode: 0 },
  "launch-failed": { type: "launch-failed", at: AT, leaseId: LEASE, reason: "no such user" },
  "walltime-exceeded": {
    type: "walltime-exceeded",
    at: AT,
    leaseId: LEASE,
    exitCode: null,
    signal: "SIGTERM",
  },
  cancel: { type: "cancel", at: AT, by: "bob" },
  "walltime-change": { type: "walltime-change", at: AT, walltime: 7200, by: "alice" },
  preempt: { type: "preempt", at: AT, reason: "besteffort job preempted by job 7" },
  "dependency-failed": {
    type: "dependency-failed",
    at: AT,
    reason: "dependency afterok:3 cannot be satisfied",
  },
  "node-lost": { type: "node-lost", at: AT, node: "n2" },
};

/** The states each event is allowed from. */
const ALLOWED: Record<JobEventType, JobState[]> = {
  hold: ["waiting"],
  resume: ["hold"],
  schedule: ["waiting"],
  start: ["launching"],
  finish: ["launching", "running"],
  "launch-failed": ["launching", "running"],
  "walltime-exceeded": ["launching", "running"],
  cancel: ["waiting", "hold", "launching", "running"],
  preempt: ["launching", "running"],
  "dependency-failed": ["waiting", "hold"],
  "walltime-change": ["waiting", "hold", "launching", "running"],
  "node-lost": ["launching", "running"],
};

/** A job in `state`, holding LEASE once it has been scheduled. */
const status = (state: JobState, o: Partial<JobStatus> = {}): JobStatus => ({
  state,
  leaseId: state === "launching" || state === "running" ? LEASE : null,
  cancelRequested: false,
  ...o,
});

function assertConflict(s: JobStatus, e: JobEvent): void {
  assert.throws(
    () => transition(s, e),
    (err: unknown) => {
      assert.ok(err instanceof GridqError, `not a GridqError: ${err}`);
      assert.equal(err.code, "GRIDQ_CONFLICT");
      assert.equal(err.status, 409);
      assert.deepEqual(err.details, { state: s.state, event: e.type });
      assert.equal(err.message, `cannot ${e.type} a job in state '${s.state}'`);
      return true;
    },
  );
}

const released: JobEffect[] = [{ type: "release", nodes: "all" }];

/** The exact transition expected from a job in `state` (not cancel-requested). */
const EXPECTED: Record<JobEventType, (state: JobState) => Transition> = {
  hold: () => ({ patch: { state: "hold" }, effects: [], description: "held by alice" }),
  resume: () => ({ patch: { state: "waiting" }, effects: [], description: "resumed by alice" }),
  schedule: () => ({
    patch: { state: "launching", leaseId: LEASE, assignedNodes: NODES, scheduledAt: AT },
    effects: [],
    description: "scheduled on n1(4),n2(2)",
  }),
  start: () => ({ patch: { state: "running", startedAt: AT }, effects: [], description: "started (pid 42)" }),
  finish: () => ({
    patch: { state: "terminated", stoppedAt: AT, exitCode: 0, message: "exit code 0" },
    effects: released,
    description: "terminated (exit code 0)",
  }),
  "launch-failed": () => ({
    patch: { state: "error", stoppedAt: AT, exitCode: null, message: "failed to launch: no such user" },
    effects: released,
    description: "failed to launch: no such user",
  }),
  "walltime-exceeded": () => ({
    patch: { state: "error", stoppedAt: AT, exitCode: null, message: "walltime exceeded" },
    effects: released,
    description: "killed: walltime exceeded",
  }),
  cancel: (state) =>
    state === "waiting" || state === "hold"
      ? {
          patch: { state: "error", stoppedAt: AT, message: "canceled by bob before start" },
          effects: [],
          description: "canceled by bob",
        }
      : {
          patch: { state, cancelRequested: true },
          effects: [{ type: "kill", leaseId: LEASE, reason: "canceled by bob" }],
          description: "cancel requested by bob",
        },
  preempt: () => ({
    patch: { state: "error", stoppedAt: AT, exitCode: null, message: "besteffort job preempted by job 7" },
    effects: [{ type: "kill", leaseId: LEASE, reason: "besteffort job preempted by job 7" }, ...released],
    description: "besteffort job preempted by job 7",
  }),
  "dependency-failed": () => ({
    patch: { state: "error", stoppedAt: AT, message: "dependency afterok:3 cannot be satisfied" },
    effects: [],
    description: "dependency afterok:3 cannot be satisfied",
  }),
  "walltime-change": (state) => ({
    patch: { state, walltime: 7200 },
    effects: [],
    description: "walltime set to 7200 s by alice",
  }),
  "node-lost": () => ({
    patch: { state: "error", stoppedAt: AT, exitCode: null, message: "node n2 lost" },
    effects: released,
    description: "node n2 lost",
  }),
};

test("the matrix covers every state and every event", () => {
  assert.deepEqual(JOB_STATES, ["waiting", "hold", "launching", "running", "terminated", "error"]);
  assert.deepEqual(Object.keys(EVENTS).sort(), Object.keys(ALLOWED).sort());
});

for (const type of Object.keys(EVENTS) as JobEventType[]) {
  for (const state of JOB_STATES) {
    const allowed = ALLOWED[type].includes(state);
    test(`${type} from ${state}: ${allowed ? "allowed" : "refused with GRIDQ_CONFLICT"}`, () => {
      const s = status(state);
      if (allowed) assert.deepEqual(transition(s, EVENTS[type]), EXPECTED[type](state));
      else assertConflict(s, EVENTS[type]);
    });
  }
}

test("a report with a stale or missing lease is refused", () => {
  for (const type of ["start", "finish", "launch-failed", "walltime-exceeded"] as const) {
    for (const state of ALLOWED[type]) {
      assertConflict(status(state, { leaseId: "lease-0" }), EVENTS[type]);
      assertConflict(status(state, { leaseId: null }), EVENTS[type]);
    }
  }
});

test("start without a pid, finish by a signal and by a non-zero exit", () => {
  assert.equal(
    transition(status("launching"), { type: "start", at: AT, leaseId: LEASE }).description,
    "started",
  );
  const bySignal = transition(status("running"), {
    type: "finish",
    at: AT,
    leaseId: LEASE,
    exitCode: null,
    signal: "SIGKILL",
  });
  assert.deepEqual(bySignal.patch, {
    state: "terminated",
    stoppedAt: AT,
    exitCode: null,
    message: "killed by SIGKILL",
  });
  assert.equal(bySignal.description, "terminated (killed by SIGKILL)");
  const failed = transition(status("running"), { type: "finish", at: AT, leaseId: LEASE, exitCode: 3 });
  assert.deepEqual(failed.patch, { state: "terminated", stoppedAt: AT, exitCode: 3, message: "exit code 3" });
});

test("cancel of a running job asks for a kill and keeps it running until the agent reports", () => {
  const t = transition(status("running"), EVENTS.cancel);
  assert.deepEqual(t.patch, { state: "running", cancelRequested: true });
  assert.deepEqual(t.effects, [{ type: "kill", leaseId: LEASE, reason: "canceled by bob" }]);
  // A launching job without a lease (should not happen) has nothing to kill.
  assert.deepEqual(transition(status("launching", { leaseId: null }), EVENTS.cancel).effects, []);
  // A second cancel is accepted and asks again (kill is idempotent).
  const again = transition(status("running", { cancelRequested: true }), EVENTS.cancel);
  assert.deepEqual(again.effects, t.effects);
});

test("finish after cancel ends in error 'canceled by user', whatever the exit code", () => {
  for (const state of ["launching", "running"] as const) {
    const t = transition(status(state, { cancelRequested: true }), {
      type: "finish",
      at: AT,
      leaseId: LEASE,
      exitCode: 0,
    });
    assert.deepEqual(t, {
      patch: { state: "error", stoppedAt: AT, exitCode: 0, message: "canceled by user" },
      effects: released,
      description: "killed after cancellation",
    });
  }
  // The stale-lease check still holds for a cancel-requested job.
  assertConflict(status("running", { cancelRequested: true, leaseId: "lease-0" }), EVENTS.finish);
});

test("eventName gives the log name", () => {
  assert.equal(eventName("walltime-exceeded"), "WALLTIME_EXCEEDED");
  assert.equal(eventName("launch-failed"), "LAUNCH_FAILED");
  assert.equal(eventName("node-lost"), "NODE_LOST");
  assert.equal(eventName("cancel"), "CANCEL");
});
