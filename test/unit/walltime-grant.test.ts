// Unit tests of walltime changes: granted only as far as no planned job is delayed.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { plan } from "../../src/domain/planner.ts";
import type { PlanInput } from "../../src/domain/planner-types.ts";
import { walltimeGrant } from "../../src/domain/walltime-grant.ts";
import { cluster, job } from "./helpers/planner-fixtures.ts";

const NOW = 50_000;

describe("walltime grant", () => {
  it("grants up to the next planned job on the same cores, and all of it otherwise", () => {
    const nodes = cluster("a", 2, 4);
    const input: PlanInput = {
      now: NOW,
      nodes,
      running: [
        {
          id: 1,
          user: "u",
          besteffort: false,
          startedAt: NOW - 100,
          walltime: 700,
          nodes: [{ uid: "a-1", cores: 4 }],
        },
        {
          id: 2,
          user: "u",
          besteffort: false,
          startedAt: NOW - 100,
          walltime: 700,
          nodes: [{ uid: "a-2", cores: 2 }],
        },
      ],
      waiting: [job("{host='a-1'}/nodes=1", 100, { id: 10 })],
    };
    const p = plan(input);
    assert.equal(p.jobs[0]!.scheduledAt, NOW + 600);
    assert.equal(walltimeGrant(input, p, 1, 3600), 0, "job 10 starts on a-1 when job 1 ends");
    assert.equal(walltimeGrant(input, p, 2, 3600), 3600, "a-2 has room");
    assert.equal(walltimeGrant(input, p, 99, 3600), 0);
  });

  it("grants part of a request when a reservation comes later", () => {
    const nodes = cluster("a", 1, 4);
    const input: PlanInput = {
      now: NOW,
      nodes,
      running: [
        {
          id: 1,
          user: "u",
          besteffort: false,
          startedAt: NOW,
          walltime: 600,
          nodes: [{ uid: "a-1", cores: 2 }],
        },
      ],
      waiting: [job("nodes=1", 100, { id: 10, reservationAt: NOW + 1000 })],
    };
    const p = plan(input);
    assert.equal(walltimeGrant(input, p, 1, 3600), 400);
    // Replanning with the grant keeps the reservation where it was.
    const longer = { ...input, running: [{ ...input.running[0]!, walltime: 1000 }] };
    assert.equal(plan(longer).jobs[0]!.scheduledAt, NOW + 1000);
  });
});
