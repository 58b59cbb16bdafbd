// Multi-node placement through the services, with three in-process agents running real
// processes: node files, properties, no node over-committed, predictions on a busy site.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Agent } from "../../src/agent/agent.ts";
import { resolveConfig } from "../../src/config/config.ts";
import type { JobRecord } from "../../src/domain/job.ts";
import type { NodeInfo } from "../../src/domain/node.ts";
import type { AgentToServer, ServerToAgent } from "../../src/protocol/agent-messages.ts";
import { createChannelPair } from "../../src/protocol/in-process-channel.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import { type ServiceDeps, systemClock } from "../../src/services/context.ts";
import { type ControlPlane, createControlPlane } from "../../src/services/control-plane.ts";
import { submitJobs } from "../../src/services/submit-job.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { eventually, tempDir } from "../helpers/gridq-process.ts";

const GiB = 2 ** 30;
const node = (
  uid: string,
  cluster: string,
  cores: number,
  properties: NodeInfo["properties"] = {},
): NodeInfo => ({
  uid,
  site: "s",
  cluster,
  cores,
  memoryBytes: 8 * GiB,
  gpus: 0,
  properties: { cluster, ...properties },
});
const NODES = [node("a1", "alpha", 4), node("a2", "alpha", 4), node("b1", "beta", 2, { exotic: "YES" })];

let store: SqliteStore;
let deps: ServiceDeps;
let plane: ControlPlane;
let work: string;
const agents: Agent[] = [];
const silent = { info() {}, warn() {}, error() {}, debug() {} };
const alice = { name: "alice", admin: false };

before(async () => {
  const home = tempDir();
  work = tempDir();
  store = new SqliteStore(join(home, "gridq.db"));
  await store.migrate();
  const config = resolveConfig({ env: {}, overrides: { home, "jobs.killGrace": 1 } });
  deps = { store, clock: systemClock, config, nodes: staticNodeDirectory(NODES), log: silent };
  plane = createControlPlane(deps);
  for (const n of NODES) {
    const [server, agentSide] = createChannelPair<AgentToServer, ServerToAgent>();
    plane.hub.attach("s", server, { node: n.uid });
    const agent = new Agent({
      node: n.uid,
      stateDir: tempDir(),
      runDir: tempDir(),
      killGrace: 1,
      accountFor: () => null,
      baseEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      umask: "077",
    });
    agents.push(agent);
    void agent.connect(agentSide);
  }
  await eventually(async () => plane.controller.reachable("s").size === 3, 10_000, "three agents");
});

after(async () => {
  for (const j of (
    await store.listJobs({ states: ["waiting", "launching", "running"], offset: 0, limit: 1000 })
  ).items)
    for (const a of agents) if (j.leaseId) a.runner.kill(j.leaseId);
  plane.controller.close();
  await plane.controller.idle();
  for (const a of agents) a.stop();
  await store.close();
});

const submit = (input: Parameters<typeof submitJobs>[4]): Promise<JobRecord[]> =>
  submitJobs(deps, plane.inbox, alice, "s", { directory: work, ...input });
const get = async (id: number) => (await store.getJob(id))!;
const until = (id: number, states: string[], ms = 15_000) =>
  eventually(
    async () => {
      const j = await get(id);
      return states.includes(j.state) && j;
    },
    ms,
    `job ${id} in ${states.join("/")}`,
  );

test("which server holds each agent's connection is a row in the store", async () => {
  const rows = await store.listAgentConnections("s");
  assert.deepEqual(
    rows.map((r) => r.node),
    ["a1", "a2", "b1"],
  );
  assert.equal(new Set(rows.map((r) => r.server)).size, 1);
});

test("nodes=2 takes two whole nodes; the head runs the command; the node file lists each node once per core", async () => {
  const [j] = await submit({ command: 'cat "$GRIDQ_NODEFILE"', resources: "{cluster='alpha'}/nodes=2" });
  const done = await until(j!.id, ["terminated", "error"]);
  assert.equal(done.state, "terminated", done.message ?? "");
  assert.deepEqual(done.assignedNodes.map((a) => [a.node, a.cores]).sort(), [
    ["a1", 4],
    ["a2", 4],
  ]);
  const lines = readFileSync(join(work, `OAR.${j!.id}.stdout`), "utf8")
    .trim()
    .split("\n");
  const head = done.assignedNodes[0]!.node;
  const other = done.assignedNodes[1]!.node;
  assert.deepEqual(lines, [...Array(4).fill(head), ...Array(4).fill(other)]);
});

test("properties pick the node; + groups take both at once; no node is ever over-committed", async () => {
  const [exotic] = await submit({ command: "true", resources: "core=1", properties: "exotic" });
  assert.deepEqual(
    (await until(exotic!.id, ["terminated"])).assignedNodes.map((a) => a.node),
    ["b1"],
  );
  const [plus] = await submit({
    command: "true",
    resources: "{cluster='beta'}/core=2+{cluster='alpha'}/nodes=1/core=3",
  });
  const p = await until(plus!.id, ["terminated"]);
  assert.equal(
    p.assignedNodes.reduce((s, a) => s + a.cores, 0),
    5,
  );
  assert.ok(p.assignedNodes.some((a) => a.node === "b1" && a.cores === 2));

  // 20 jobs of mixed sizes over 10 cores: at every moment, each node's running cores fit.
  const sizes = [1, 2, 3, 4, 1, 2, 2, 1, 4, 3, 1, 1, 2, 2, 3, 1, 4, 2, 1, 1];
  const ids = (
    await Promise.all(
      sizes.map((n) => submit({ command: "sleep 0.3", resources: `core=${n}`, walltime: 30 })),
    )
  )
    .flat()
    .map((j) => j.id);
  let worst = 0;
  for (;;) {
    const { items } = await store.listJobs({ ids, offset: 0, limit: ids.length });
    const used = new Map<string, number>();
    for (const j of items)
      if (j.state === "launching" || j.state === "running")
        for (const a of j.assignedNodes) used.set(a.node, (used.get(a.node) ?? 0) + a.cores);
    for (const n of NODES) worst = Math.max(worst, (used.get(n.uid) ?? 0) - n.cores);
    if (items.every((j) => j.state === "terminated" || j.state === "error")) {
      assert.ok(
        items.every((j) => j.state === "terminated"),
        items.map((j) => j.message).join(","),
      );
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(worst, 0, "a node ran more cores than it has");
});

test("on a full site, waiting jobs get predictions; a big job is not overtaken by a later one that would delay it", async () => {
  const [fill] = await submit({ command: "sleep 2", resources: "{cluster='alpha'}/nodes=2", walltime: 4 });
  await until(fill!.id, ["running"]);
  const [big] = await submit({ command: "true", resources: "{cluster='alpha'}/nodes=2", walltime: 60 });
  const [small] = await submit({ command: "true", resources: "{cluster='alpha'}/core=1", walltime: 600 });
  const b = await eventually(async () => {
    const j = await get(big!.id);
    return j.pendingReason !== null && j;
  });
  assert.equal(b.pendingReason, "resources");
  const s = await eventually(async () => {
    const j = await get(small!.id);
    return j.pendingReason !== null && j;
  });
  // The small job would outlast the fill job and delay the big one: it waits for it.
  assert.ok(s.scheduledAt! >= b.scheduledAt! + 60, `small ${s.scheduledAt}, big ${b.scheduledAt}`);
  const bigDone = await until(big!.id, ["terminated"], 20_000);
  const smallDone = await until(small!.id, ["terminated"], 20_000);
  assert.ok(smallDone.startedAt! >= bigDone.startedAt!, "the later job did not start first");
});
