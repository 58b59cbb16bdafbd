// Fair-share usage: ended jobs' core-seconds decay by half-life, running jobs count so far, and
// the heaviest user's jobs rank later in the planner's priority order.

import assert from "node:assert/strict";
import { test } from "node:test";
import { priorityOrder } from "../../src/domain/planner.ts";
import type { WaitingJob } from "../../src/domain/planner-types.ts";
import { parseResourceRequest } from "../../src/domain/resource-request.ts";
import { UsageTracker } from "../../src/services/controller/fair-share.ts";

const T = 1_800_000_000;

test("usage: ended jobs decay by half-life, running jobs count what they used so far; weight 0 is off", () => {
  const u = new UsageTracker(86400, 3600);
  u.ended({ user: "alice", startedAt: T - 3600, stoppedAt: T, assignedNodes: [{ node: "n", cores: 4 }] }, T);
  const running = [
    {
      id: 9,
      user: "bob",
      besteffort: false,
      startedAt: T - 100,
      walltime: 600,
      nodes: [{ uid: "n", cores: 1 }],
    },
  ];
  assert.deepEqual(u.fairShare(running, T), { weight: 86400, usage: { alice: 14400, bob: 100 } });
  assert.deepEqual(u.fairShare([], T + 3600)?.usage, { alice: 7200 });
  assert.equal(new UsageTracker(0, 3600).fairShare(running, T), undefined);
});

test("restore: jobs that ended before a restart count as decayed since their end, as if never forgotten", () => {
  const job = {
    user: "alice",
    startedAt: T - 7200,
    stoppedAt: T - 3600,
    assignedNodes: [{ node: "n", cores: 2 }],
  };
  // The tracker that saw it end, and one rebuilt from the store an hour later: the same usage.
  const seen = new UsageTracker(86400, 3600);
  seen.ended(job, T - 3600);
  const rebuilt = new UsageTracker(86400, 3600);
  rebuilt.restore([job, { ...job, user: "bob", startedAt: null }], T);
  assert.deepEqual(rebuilt.fairShare([], T)?.usage, { alice: 3600 });
  assert.deepEqual(seen.fairShare([], T)?.usage, rebuilt.fairShare([], T)?.usage);
  assert.equal(rebuilt.memory, 36000);
  assert.equal(new UsageTracker(0, 3600).memory, 0);
});

test("the heaviest recent user's older job ranks after a lighter user's newer one", () => {
  const u = new UsageTracker(86400, 86400);
  u.ended({ user: "alice", startedAt: T - 7200, stoppedAt: T, assignedNodes: [{ node: "n", cores: 8 }] }, T);
  const job = (id: number, user: string, submittedAt: number): WaitingJob => ({
    id,
    user,
    queue: "default",
    queuePriority: 2,
    submittedAt,
    request: parseResourceRequest("core=1"),
    walltime: 60,
  });
  const waiting = [job(1, "alice", T - 600), job(2, "bob", T - 60)];
  assert.deepEqual(
    priorityOrder(waiting).map((j) => j.id),
    [1, 2],
    "without fair-share: age",
  );
  assert.deepEqual(
    priorityOrder(waiting, u.fairShare([], T)).map((j) => j.id),
    [2, 1],
  );
});
