// Unit tests of the planner over small synthetic clusters: placement, reasons, reservations, besteffort, fairness.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodefileLines, plan, planSession, quantizeWalltime } from "../../src/domain/planner.ts";
import type { PlanInput, RunningJob } from "../../src/domain/planner-types.ts";
import { checkPlan, cluster, job } from "./helpers/planner-fixtures.ts";

const NOW = 10_000;
const run = (id: number, uid: string, cores: number, endsIn: number, besteffort = false): RunningJob => ({
  id,
  user: "bob",
  besteffort,
  startedAt: NOW - 100,
  walltime: 100 + endsIn,
  nodes: [{ uid, cores }],
});
const planChecked = (input: PlanInput) => {
  const p = plan(input);
  assert.deepEqual(checkPlan(input, p), []);
  return { p, of: (id: number) => p.jobs.find((j) => j.id === id)! };
};

describe("planner: placement", () => {
  it("starts a multi-node job with cores per node, head first, and writes its node file", () => {
    const nodes = cluster("a", 3, 8);
    const { p } = planChecked({
      now: NOW,
      nodes,
      running: [],
      waiting: [job("nodes=2/core=3", 600, { id: 1 })],
    });
    assert.equal(p.starts.length, 1);
    const s = p.starts[0]!;
    assert.equal(s.nodes.length, 2);
    assert.ok(s.nodes.every((n) => n.cores === 3));
    assert.deepEqual(nodefileLines(s.nodes), [
      ...Array(3).fill(s.nodes[0]!.uid),
      ...Array(3).fill(s.nodes[1]!.uid),
    ]);
  });

  it("keeps a `+` job's first group's node as head, and places all groups at once", () => {
    const nodes = [...cluster("a", 2, 4), ...cluster("b", 1, 16)];
    const running = [run(90, "b-1", 16, 500)];
    const { of } = planChecked({
      now: NOW,
      nodes,
      running,
      waiting: [job("{cluster='b'}/nodes=1+{cluster='a'}/nodes=2", 100, { id: 1 })],
    });
    assert.equal(of(1).scheduledAt, NOW + 500);
    assert.equal(of(1).nodes![0]!.uid, "b-1");
    assert.deepEqual(
      of(1)
        .nodes!.map((n) => n.uid)
        .sort(),
      ["a-1", "a-2", "b-1"],
    );
  });

  it("honours property filters, and says when nothing can ever match", () => {
    const nodes = [...cluster("a", 2, 8), ...cluster("b", 2, 8, { gpus: 2 })];
    for (const n of nodes) n.properties.gpu_count = n.gpus;
    const { p, of } = planChecked({
      now: NOW,
      nodes,
      running: [],
      waiting: [
        job("{cluster='b'}/nodes=1", 100, { id: 1 }),
        job("{gpu_count > 0}/nodes=1/gpu=1", 100, { id: 2 }),
        job("{cluster='zz'}/nodes=1", 100, { id: 3 }),
        job("{cluster='a'}/nodes=3", 100, { id: 4 }),
      ],
    });
    assert.match(of(1).nodes![0]!.uid, /^b-/);
    assert.match(of(2).nodes![0]!.uid, /^b-/);
    assert.equal(of(2).nodes![0]!.cores, 4, "gpu=1 of 2 on 8 cores takes 4 cores");
    assert.equal(of(3).scheduledAt, null);
    assert.equal(of(3).reason, "resources");
    assert.match(of(3).message!, /no node/);
    assert.equal(of(4).scheduledAt, null);
    assert.equal(p.starts.length, 2);
  });

  it("reads cpu, ALL and BEST levels", () => {
    const nodes = cluster("a", 3, 8, { cpus: 2 });
    const running = [run(90, "a-3", 8, 300)];
    const { of } = planChecked({
      now: NOW,
      nodes,
      running,
      waiting: [
        job("nodes=1/cpu=1", 100, { id: 1 }),
        job("/cpu=1/core=2", 100, { id: 2 }),
        job("nodes=BEST", 50, { id: 3 }),
        job("nodes=ALL", 50, { id: 4 }),
      ],
    });
    assert.equal(of(1).nodes![0]!.cores, 4);
    assert.equal(of(2).nodes![0]!.cores, 2);
    // BEST: at its earliest start, every node that fits (a-3 is busy, a-1 shares with jobs 1-2).
    assert.equal(of(3).scheduledAt, NOW);
    assert.equal(of(3).nodes!.length, 1);
    assert.equal(of(4).scheduledAt, NOW + 300);
    assert.equal(of(4).nodes!.length, 3);
  });

  it("fits around fragmentation: whole-node waits, spread cores start", () => {
    const nodes = cluster("a", 4, 4);
    const running = [
      run(91, "a-1", 2, 100),
      run(92, "a-2", 2, 200),
      run(93, "a-3", 2, 300),
      run(94, "a-4", 2, 400),
    ];
    const { of } = planChecked({
      now: NOW,
      nodes,
      running,
      waiting: [
        job("nodes=1/core=4", 1000, { id: 1 }),
        job("core=4", 1000, { id: 2 }),
        job("nodes=2/core=2", 50, { id: 3 }),
        job("core=5", 10, { id: 4 }),
      ],
    });
    assert.equal(of(1).scheduledAt, NOW + 100);
    assert.equal(of(1).nodes![0]!.uid, "a-1");
    assert.equal(of(2).scheduledAt, NOW, "4 cores spread over two half-free nodes");
    assert.deepEqual(
      of(2).nodes!.map((n) => n.cores),
      [2, 2],
    );
    assert.equal(of(3).scheduledAt, NOW, "backfilled before job 1's slot on a-1");
    assert.ok(of(3).nodes!.some((n) => n.uid === "a-1"));
    assert.notEqual(of(4).scheduledAt, NOW, "no 5 cores left now");
  });
});

describe("planner: reasons, hold, dependencies, reservations", () => {
  it("says priority when only jobs ahead are in the way, resources otherwise", () => {
    const nodes = cluster("a", 1, 4);
    const a = planChecked({
      now: NOW,
      nodes,
      running: [],
      waiting: [job("nodes=1", 100, { id: 1 }), job("nodes=1", 100, { id: 2 })],
    });
    assert.equal(a.of(2).scheduledAt, NOW + 100);
    assert.equal(a.of(2).reason, "priority");
    const b = planChecked({
      now: NOW,
      nodes,
      running: [run(9, "a-1", 1, 50)],
      waiting: [job("nodes=1", 100, { id: 3 })],
    });
    assert.equal(b.of(3).scheduledAt, NOW + 50);
    assert.equal(b.of(3).reason, "resources");
  });

  it("does not place held jobs or jobs with pending dependencies", () => {
    const nodes = cluster("a", 2, 4);
    const { p, of } = planChecked({
      now: NOW,
      nodes,
      running: [],
      waiting: [
        job("nodes=1", 100, { id: 1, hold: true }),
        job("nodes=1", 100, { id: 2, dependenciesMet: false }),
      ],
    });
    assert.equal(p.starts.length, 0);
    assert.deepEqual([of(1).reason, of(1).scheduledAt], ["hold", null]);
    assert.deepEqual([of(2).reason, of(2).scheduledAt], ["dependency", null]);
  });

  it("holds a reservation's slot against older jobs, and refuses a second one on it", () => {
    const nodes = cluster("a", 2, 4);
    const { of } = planChecked({
      now: NOW,
      nodes,
      running: [],
      waiting: [
        job("nodes=1", 2000, { id: 1, submittedAt: 1 }),
        job("nodes=1", 500, { id: 2, submittedAt: 2 }),
        job("nodes=2", 500, { id: 3, submittedAt: 3, reservationAt: NOW + 1000 }),
        job("nodes=1", 100, { id: 4, submittedAt: 4, reservationAt: NOW + 1200 }),
      ],
    });
    assert.deepEqual([of(3).scheduledAt, of(3).reason], [NOW + 1000, "reservation"]);
    assert.deepEqual([of(4).scheduledAt, of(4).reason], [null, "reservation"]);
    assert.equal(of(1).scheduledAt, NOW + 1500, "a 2000 s job cannot run before the reservation");
    assert.equal(of(2).scheduledAt, NOW, "a 500 s job fits before it");
  });

  it("starts a reservation whose time has come", () => {
    const nodes = cluster("a", 1, 4);
    const { p } = planChecked({
      now: NOW,
      nodes,
      running: [],
      waiting: [job("nodes=1", 100, { id: 1, reservationAt: NOW - 5 })],
    });
    assert.deepEqual(
      p.starts.map((s) => s.id),
      [1],
    );
  });
});

describe("planner: besteffort", () => {
  it("kills besteffort jobs in the way of a normal start, and only those", () => {
    const nodes = cluster("a", 2, 4);
    const running = [run(50, "a-1", 4, 9999, true), run(51, "a-2", 1, 9999, true)];
    const { p } = planChecked({ now: NOW, nodes, running, waiting: [job("nodes=1/core=4", 100, { id: 1 })] });
    assert.equal(p.starts[0]!.id, 1);
    // Either node needs a kill; exactly one besteffort job goes, and the message says why.
    assert.equal(p.preempt.length, 1);
    assert.equal(p.preempt[0]!.byJob, 1);
    assert.match(p.preempt[0]!.message, /besteffort/);
  });

  it("prefers nodes without besteffort jobs", () => {
    const nodes = cluster("a", 2, 4);
    const running = [run(50, "a-1", 4, 9999, true)];
    const { p } = planChecked({ now: NOW, nodes, running, waiting: [job("nodes=1", 100, { id: 1 })] });
    assert.equal(p.starts[0]!.nodes[0]!.uid, "a-2");
    assert.equal(p.preempt.length, 0);
  });

  it("runs besteffort jobs on idle cores only, without reserving the future", () => {
    const nodes = cluster("a", 2, 4);
    const running = [run(60, "a-1", 4, 1000)];
    const { of } = planChecked({
      now: NOW,
      nodes,
      running,
      waiting: [
        job("nodes=1", 100, { id: 1, reservationAt: NOW + 50 }),
        job("nodes=1", 3600, { id: 2, besteffort: true, queuePriority: 0 }),
        job("nodes=1", 3600, { id: 3, besteffort: true, queuePriority: 0 }),
      ],
    });
    assert.equal(of(2).scheduledAt, NOW, "idle now, even though a reservation comes at +50");
    assert.deepEqual([of(3).scheduledAt, of(3).reason], [null, "resources"]);
  });
});

describe("planner: fair-share", () => {
  it("orders users by recent usage when they submit together", () => {
    const nodes = cluster("a", 2, 4);
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const usage = Object.fromEntries(users.map((u, i) => [u, (i * 7919) % 40]));
    const waiting = users.flatMap((user, i) =>
      [0, 1, 2].map((k) => job("nodes=1", 100, { id: 1000 + i * 3 + k, user, submittedAt: 5 })),
    );
    const { p } = planChecked({ now: NOW, nodes, running: [], waiting, fairShare: { weight: 3600, usage } });
    const firstStart = new Map<string, number>();
    for (const jp of p.jobs) {
      const u = waiting.find((w) => w.id === jp.id)!.user;
      if (!firstStart.has(u)) firstStart.set(u, jp.scheduledAt!);
    }
    const byUsage = [...users].sort((a, b) => usage[a]! - usage[b]!);
    const starts = byUsage.map((u) => firstStart.get(u)!);
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => a - b),
      "lighter users never start later",
    );
    assert.ok(starts[0]! < starts[starts.length - 1]!);
  });

  it("lets a light user overtake a heavy user's backlog, and not without fair-share", () => {
    const nodes = cluster("a", 1, 4);
    const heavy = Array.from({ length: 50 }, (_, i) =>
      job("nodes=1", 60, { id: 100 + i, user: "heavy", submittedAt: i }),
    );
    const light = job("nodes=1", 60, { id: 999, user: "light", submittedAt: 100 });
    const usage = { heavy: 1000, light: 0 };
    const fair = planChecked({
      now: NOW,
      nodes,
      running: [],
      waiting: [...heavy, light],
      fairShare: { weight: 3600, usage },
    });
    assert.equal(fair.of(999).scheduledAt, NOW);
    const fifo = planChecked({ now: NOW, nodes, running: [], waiting: [...heavy, light] });
    assert.equal(fifo.of(999).scheduledAt, NOW + 50 * 60);
  });
});

describe("planner: event-driven start", () => {
  it("starts a new job at once only in cores idle through its walltime", () => {
    const nodes = cluster("a", 2, 4);
    const input: PlanInput = {
      now: NOW,
      nodes,
      running: [run(1, "a-1", 4, 1000), run(2, "a-2", 1, 50, true)],
      waiting: [job("nodes=2", 600, { id: 10, submittedAt: 1 })],
    };
    const session = planSession(input);
    assert.equal(session.plan.jobs[0]!.scheduledAt, NOW + 1000);
    // a-2 has 3 idle cores, but job 10 holds the whole node from +1000.
    const short = job("nodes=1/core=3", 100, { id: 11 });
    const long = job("nodes=1/core=3", 2000, { id: 12 });
    const big = job("nodes=1/core=4", 100, { id: 13 });
    assert.deepEqual(session.startNow(long), null);
    assert.equal(session.startNow(big), null, "would need the besteffort job's core");
    assert.deepEqual(session.startNow(short), { id: 11, nodes: [{ uid: "a-2", cores: 3 }] });
    assert.equal(session.startNow(job("core=1", 10, { id: 14 })), null, "now full");
    assert.equal(session.startNow(job("core=1", 10, { id: 15, hold: true })), null);
    // The whole stays sound: plan + the started job checked together.
    const all = { ...input, waiting: [...input.waiting, short] };
    const merged = {
      ...session.plan,
      starts: [...session.plan.starts, { id: 11, nodes: [{ uid: "a-2", cores: 3 }] }],
      jobs: [
        ...session.plan.jobs,
        { id: 11, scheduledAt: NOW, reason: null, nodes: [{ uid: "a-2", cores: 3 }] },
      ],
    };
    assert.deepEqual(checkPlan(all, merged), []);
  });
});

describe("planner: walltime steps", () => {
  it("rounds walltimes up to N values per doubling, and plans with them", () => {
    assert.equal(quantizeWalltime(3600, 8), 3840);
    assert.equal(quantizeWalltime(3840, 8), 3840);
    assert.equal(quantizeWalltime(300, 8), 320);
    assert.equal(quantizeWalltime(5, 8), 5);
    for (let w = 9; w < 100_000; w += 997) {
      const q = quantizeWalltime(w, 8);
      assert.ok(q >= w && q <= w * 1.125, `${w} -> ${q}`);
    }
    const nodes = cluster("a", 1, 4);
    const waiting = [job("nodes=1", 300, { id: 1 }), job("nodes=1", 300, { id: 2 })];
    const exact = plan({ now: NOW, nodes, running: [], waiting });
    const coarse = plan({ now: NOW, nodes, running: [], waiting, walltimeSteps: 8 });
    assert.equal(exact.jobs[1]!.scheduledAt, NOW + 300);
    assert.equal(coarse.jobs[1]!.scheduledAt, NOW + 320);
  });
});
