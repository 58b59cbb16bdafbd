// Unit tests of a node's soft state and slots for the status API.

import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeSlots } from "../../src/domain/node-status.ts";
import type { RunningJob } from "../../src/domain/planner-types.ts";

const on = (id: number, cores: number, besteffort = false): RunningJob => ({
  id,
  user: "u",
  besteffort,
  startedAt: 0,
  walltime: 60,
  nodes: [{ uid: "n-1", cores }],
});

test("soft states and slots follow Grid'5000's rules", () => {
  assert.deepEqual(nodeSlots("n-1", 8, "alive", []), {
    soft: "free",
    free_slots: 8,
    busy_slots: 0,
    freeable_slots: 0,
  });
  assert.equal(nodeSlots("n-1", 8, "alive", [on(1, 4)]).soft, "free_busy");
  assert.equal(nodeSlots("n-1", 8, "alive", [on(1, 5)]).soft, "busy_free");
  assert.equal(nodeSlots("n-1", 8, "alive", [on(1, 8)]).soft, "busy");
  assert.deepEqual(nodeSlots("n-1", 8, "alive", [on(1, 2), on(2, 6, true)]), {
    soft: "busy_besteffort",
    free_slots: 0,
    busy_slots: 2,
    freeable_slots: 6,
  });
  assert.deepEqual(nodeSlots("n-1", 8, "dead", [on(1, 2)]), {
    soft: "unknown",
    free_slots: 0,
    busy_slots: 0,
    freeable_slots: 0,
  });
  assert.equal(nodeSlots("n-2", 8, "alive", [on(1, 8)]).soft, "free", "other nodes' jobs do not count");
});
