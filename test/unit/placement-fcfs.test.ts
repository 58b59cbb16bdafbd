// First-come-first-served placement: order, shapes, head-of-line blocking, never over-committing.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeAllocation, NodeInfo } from "../../src/domain/node.ts";
import { fitsAtAll, placeFirstComeFirstServed, type WaitingJob } from "../../src/domain/placement.ts";
import { parseResourceRequest } from "../../src/domain/resource-request.ts";

const node = (uid: string, cores: number): NodeInfo => ({
  uid,
  site: "local",
  cluster: "c",
  cores,
  memoryBytes: 0,
  gpus: 0,
  properties: {},
});

const job = (id: number, resources: string): WaitingJob => ({ id, request: parseResourceRequest(resources) });

test("nodes=N takes N whole free nodes, in node order", () => {
  const nodes = [node("a", 4), node("b", 8), node("c", 4)];
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "nodes=2")]), [
    {
      jobId: 1,
      nodes: [
        { node: "a", cores: 4 },
        { node: "b", cores: 8 },
      ],
    },
  ]);
  // A node with one busy core is not whole any more.
  assert.deepEqual(placeFirstComeFirstServed(nodes, [[{ node: "a", cores: 1 }]], [job(1, "nodes=2")]), [
    {
      jobId: 1,
      nodes: [
        { node: "b", cores: 8 },
        { node: "c", cores: 4 },
      ],
    },
  ]);
  assert.deepEqual(placeFirstComeFirstServed(nodes, [[{ node: "a", cores: 1 }]], [job(1, "nodes=3")]), []);
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "")]), [
    { jobId: 1, nodes: [{ node: "a", cores: 4 }] },
  ]);
});

test("core=N: the tightest single node that fits, else packed across the freest nodes", () => {
  const nodes = [node("a", 8), node("b", 4), node("c", 6)];
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "core=3")]), [
    { jobId: 1, nodes: [{ node: "b", cores: 3 }] },
  ]);
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "core=5")]), [
    { jobId: 1, nodes: [{ node: "c", cores: 5 }] },
  ]);
  // 10 cores fit on no single node: 8 on a, 2 on c (the next freest).
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "core=10")]), [
    {
      jobId: 1,
      nodes: [
        { node: "a", cores: 8 },
        { node: "c", cores: 2 },
      ],
    },
  ]);
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "core=18")]).length, 1);
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "core=19")]), []);
  // Successive small jobs fill nodes without overlapping.
  const p = placeFirstComeFirstServed(
    [node("a", 2)],
    [],
    [job(1, "core=1"), job(2, "core=1"), job(3, "core=1")],
  );
  assert.deepEqual(p, [
    { jobId: 1, nodes: [{ node: "a", cores: 1 }] },
    { jobId: 2, nodes: [{ node: "a", cores: 1 }] },
  ]);
});

test("nodes=2/core=3 takes 3 cores on each of 2 nodes with room", () => {
  const nodes = [node("a", 4), node("b", 2), node("c", 4), node("d", 8)];
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "nodes=2/core=3")]), [
    {
      jobId: 1,
      nodes: [
        { node: "a", cores: 3 },
        { node: "c", cores: 3 },
      ],
    },
  ]);
  assert.deepEqual(
    placeFirstComeFirstServed(nodes, [[{ node: "a", cores: 2 }]], [job(1, "nodes=2/core=3")]),
    [
      {
        jobId: 1,
        nodes: [
          { node: "c", cores: 3 },
          { node: "d", cores: 3 },
        ],
      },
    ],
  );
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], [job(1, "nodes=2/core=5")]), []);
  assert.equal(fitsAtAll(parseResourceRequest("nodes=2/core=5"), nodes), false);
  assert.equal(fitsAtAll(parseResourceRequest("nodes=4/core=2"), nodes), true);
  assert.equal(fitsAtAll(parseResourceRequest("nodes=5"), nodes), false);
});

test("jobs start in submission order; the first that does not fit blocks the ones behind it", () => {
  const nodes = [node("a", 4), node("b", 4)];
  const waiting = [job(7, "core=3"), job(3, "nodes=2"), job(9, "core=1")];
  // Job 3 needs both nodes whole; job 9 would fit but must not overtake it.
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], waiting), [
    { jobId: 7, nodes: [{ node: "a", cores: 3 }] },
  ]);
  // Once the way is clear, the order is kept.
  assert.deepEqual(placeFirstComeFirstServed(nodes, [], waiting.slice(1)), [
    {
      jobId: 3,
      nodes: [
        { node: "a", cores: 4 },
        { node: "b", cores: 4 },
      ],
    },
  ]);
  assert.deepEqual(
    placeFirstComeFirstServed(nodes, [[{ node: "b", cores: 4 }]], [job(1, "core=5"), job(2, "core=1")]),
    [],
  );
});

/** A small deterministic generator, so that a failure can be replayed from its seed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

test("randomized: never over-commits a node, honours each shape, keeps FCFS order", () => {
  for (let seed = 1; seed <= 500; seed++) {
    const r = rng(seed);
    const nodes = Array.from({ length: 1 + r(6) }, (_, i) => node(`n${i}`, 1 + r(16)));
    const cap = new Map(nodes.map((n) => [n.uid, n.cores]));
    // Some running jobs, each within what is still free.
    const busy: NodeAllocation[][] = [];
    const used = new Map(nodes.map((n) => [n.uid, 0]));
    for (const n of nodes) {
      const c = r(n.cores + 1);
      if (c > 0) {
        busy.push([{ node: n.uid, cores: c }]);
        used.set(n.uid, c);
      }
    }
    const texts = ["nodes=1", "nodes=2", "core=1", "core=3", "core=9", "nodes=2/core=2", "nodes=1/core=4"];
    const waiting = Array.from({ length: 1 + r(8) }, (_, i) => job(100 + i, texts[r(texts.length)]!));
    const placed = placeFirstComeFirstServed(nodes, busy, waiting);
    const where = `seed ${seed}`;

    assert.deepEqual(
      placed.map((p) => p.jobId),
      waiting.slice(0, placed.length).map((w) => w.id),
      where,
    );
    for (const p of placed) {
      const free = new Map([...cap].map(([k, v]) => [k, v - used.get(k)!]));
      const text = waiting.find((w) => w.id === p.jobId)!.request.text;
      assert.equal(new Set(p.nodes.map((a) => a.node)).size, p.nodes.length, `${where}: a node twice`);
      for (const a of p.nodes) {
        assert.ok(cap.has(a.node), `${where}: unknown node ${a.node}`);
        assert.ok(a.cores > 0, `${where}: ${a.cores} cores`);
        used.set(a.node, used.get(a.node)! + a.cores);
        assert.ok(used.get(a.node)! <= cap.get(a.node)!, `${where}: ${a.node} over-committed by ${text}`);
      }
      const m = /^(?:nodes=(\d+))?\/?(?:core=(\d+))?$/.exec(text)!;
      const [wantNodes, wantCores] = [m[1] && Number(m[1]), m[2] && Number(m[2])];
      if (wantNodes && !wantCores) {
        assert.equal(p.nodes.length, wantNodes, where);
        for (const a of p.nodes) {
          assert.equal(a.cores, cap.get(a.node), `${where}: ${text} must take whole nodes`);
          assert.equal(free.get(a.node), cap.get(a.node), `${where}: ${text} on a node in use`);
        }
      } else if (wantNodes && wantCores) {
        assert.equal(p.nodes.length, wantNodes, where);
        for (const a of p.nodes) assert.equal(a.cores, wantCores, where);
      } else {
        assert.equal(
          p.nodes.reduce((s, a) => s + a.cores, 0),
          wantCores,
          `${where}: ${text}`,
        );
      }
    }
    // Head-of-line: the first job left behind really does not fit in what is left.
    const next = waiting[placed.length];
    if (next) {
      const free = nodes.map((n) => ({ cap: n.cores, free: n.cores - used.get(n.uid)! }));
      const m = /^(?:nodes=(\d+))?\/?(?:core=(\d+))?$/.exec(next.request.text)!;
      const [k, c] = [m[1] ? Number(m[1]) : null, m[2] ? Number(m[2]) : null];
      const fits =
        c === null
          ? free.filter((f) => f.free === f.cap).length >= k!
          : k === null
            ? free.reduce((s, f) => s + f.free, 0) >= c
            : free.filter((f) => f.free >= c).length >= k;
      assert.equal(fits, false, `${where}: ${next.request.text} fits but was not placed`);
    }
  }
});
