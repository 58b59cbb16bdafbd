// Two servers over one store, in one process: two control planes (each its own SQLite
// connection to one file, a lease per site, messages for agents through the store) and two
// in-process agents running real processes, one connected to each server. Submissions, cancels
// and walltime changes through the server that does not lead reach the agent on either; when the
// leader dies, the other takes the site over and nothing runs twice.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, it } from "node:test";
import { Agent } from "../../src/agent/agent.ts";
import { resolveConfig } from "../../src/config/config.ts";
import type { NodeInfo } from "../../src/domain/node.ts";
import type { AgentToServer, ServerToAgent } from "../../src/protocol/agent-messages.ts";
import { createChannelPair } from "../../src/protocol/in-process-channel.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import { cancelJob } from "../../src/services/cancel-job.ts";
import { changeWalltime } from "../../src/services/change-walltime.ts";
import { type ServiceDeps, systemClock } from "../../src/services/context.ts";
import { type ControlPlane, createControlPlane } from "../../src/services/control-plane.ts";
import { LeaseLeadership } from "../../src/services/controller/lease-leadership.ts";
import { holdOrResumeJob } from "../../src/services/hold-job.ts";
import { submitJobs } from "../../src/services/submit-job.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { eventually, tempDir } from "../helpers/gridq-process.ts";

const TTL = 2;
const node = (uid: string, cluster: string): NodeInfo => ({
  uid,
  site: "s",
  cluster,
  cores: 1,
  memoryBytes: 2 ** 33,
  gpus: 0,
  properties: { cluster },
});
// Node na's agent connects to server A, nb's to server B.
const NODES = [node("na", "ca"), node("nb", "cb")];
const alice = { name: "alice", admin: false };
const silent = { info() {}, warn() {}, error() {}, debug() {} };

interface Server {
  name: string;
  store: SqliteStore;
  deps: ServiceDeps;
  plane: ControlPlane;
  ticker: NodeJS.Timeout;
  leadership: LeaseLeadership;
}

let servers: Server[];
let agents: Agent[];
let work: string;
let ran: string;

async function server(name: string, path: string, home: string): Promise<Server> {
  const store = new SqliteStore(path);
  await store.migrate();
  const config = resolveConfig({ env: {}, overrides: { home, "jobs.killGrace": 1 } });
  const deps: ServiceDeps = {
    store,
    clock: systemClock,
    config,
    nodes: staticNodeDirectory(NODES),
    log: silent,
  };
  const leadership = new LeaseLeadership(deps, { server: name, ttl: TTL });
  const plane = createControlPlane(deps, { server: name, leadership, shared: true });
  const ticker = setInterval(() => void plane.inbox.post({ type: "tick" }), 200);
  return { name, store, deps, plane, ticker, leadership };
}

/** Open connections, by server name. */
const channels = new Map<string, { close(): void }[]>();

function connect(s: Server, agent: Agent): void {
  const [serverSide, agentSide] = createChannelPair<AgentToServer, ServerToAgent>();
  s.plane.hub.attach("s", serverSide, { node: agent.node });
  channels.set(s.name, [...(channels.get(s.name) ?? []), serverSide]);
  void agent.connect(agentSide);
}

/**
 * A server dies at once (as `kill -9`): no more ticks nor passes, no lease released, and its
 * agents' connections drop (the agents, other processes, keep their jobs running).
 */
function kill(s: Server): void {
  clearInterval(s.ticker);
  s.plane.controller.close();
  for (const c of channels.get(s.name) ?? []) c.close();
  channels.delete(s.name);
}

beforeEach(async () => {
  const home = tempDir();
  work = tempDir();
  ran = join(work, "ran");
  const path = join(home, "gridq.db");
  channels.clear();
  servers = [await server("A", path, home), await server("B", path, home)];
  // A claims the site first.
  await servers[0]!.plane.inbox.post({ type: "tick" });
  agents = NODES.map(
    (n) =>
      new Agent({
        node: n.uid,
        stateDir: tempDir(),
        runDir: tempDir(),
        killGrace: 1,
        accountFor: () => null,
        baseEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        umask: "077",
      }),
  );
  connect(servers[0]!, agents[0]!);
  connect(servers[1]!, agents[1]!);
  await eventually(
    async () => servers.every((s) => s.plane.controller.reachable("s").size === 2),
    10_000,
    "both servers see both nodes connected",
  );
  assert.equal(servers[0]!.leadership.leads("s"), true);
  assert.equal(servers[1]!.leadership.leads("s"), false);
});

afterEach(async () => {
  for (const s of servers) {
    clearInterval(s.ticker);
    for (const j of (await s.store.listJobs({ states: ["launching", "running"], offset: 0, limit: 100 }))
      .items)
      for (const a of agents) if (j.leaseId) a.runner.kill(j.leaseId);
  }
  for (const a of agents) a.stop();
  for (const s of servers) {
    s.plane.controller.close();
    await s.plane.controller.idle();
    await s.store.close().catch(() => {});
  }
});

const submit = async (s: Server, command: string, cluster: string, extra: object = {}) => {
  const [job] = await submitJobs(s.deps, s.plane.inbox, alice, "s", {
    command: `echo $GRIDQ_JOB_ID >> ${ran}; ${command}`,
    directory: work,
    resources: `{cluster='${cluster}'}/core=1`,
    ...extra,
  });
  return job!;
};
const until = (s: Server, id: number, states: string[], ms = 10_000) =>
  eventually(
    async () => {
      const j = await s.store.getJob(id);
      return j && states.includes(j.state) && j;
    },
    ms,
    `job ${id} in ${states.join("/")}`,
  );
const runs = (id: number) =>
  existsSync(ran)
    ? readFileSync(ran, "utf8")
        .split("\n")
        .filter((l) => l === String(id)).length
    : 0;

it("a job submitted on B (not leading) starts within about a tick, on an agent connected to A or to B", async () => {
  const [a, b] = servers as [Server, Server];
  const t0 = Date.now();
  const onA = await submit(b, "true", "ca");
  const onB = await submit(b, "true", "cb");
  const doneA = await until(a, onA.id, ["terminated", "error"]);
  const doneB = await until(a, onB.id, ["terminated", "error"]);
  assert.equal(doneA.state, "terminated", doneA.message ?? "");
  assert.equal(doneB.state, "terminated", doneB.message ?? "");
  assert.deepEqual(
    doneA.assignedNodes.map((n) => n.node),
    ["na"],
  );
  assert.deepEqual(
    doneB.assignedNodes.map((n) => n.node),
    ["nb"],
  );
  // Ticks come every 0.2 s: the leader's wake-up and the holder's delivery take a few of them,
  // far below the leader's periodic pass (scheduler.passInterval, 30 s by default).
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.equal(runs(onA.id), 1);
  assert.equal(runs(onB.id), 1);
  // Delivered messages are gone from the store.
  assert.deepEqual(await a.store.takeAgentMessages(["na", "nb"]), []);
});

it("cancel, hold and walltime through B reach the agent connected to A", async () => {
  const [a, b] = servers as [Server, Server];
  // Walltime: a job of 2 s that sleeps 4 is extended by 10 s through B (not leading: B plans the
  // site from the store to grant it) and ends normally, so the agent on A heard of it.
  const slow = await submit(b, "sleep 4", "ca", { walltime: 2 });
  await until(a, slow.id, ["running"]);
  const change = await changeWalltime(
    b.deps,
    b.plane.controller,
    b.plane.inbox,
    alice,
    "s",
    slow.id,
    "+0:0:10",
  );
  assert.equal(change.granted, 10);
  const ended = await until(a, slow.id, ["terminated", "error"], 15_000);
  assert.equal(ended.state, "terminated", ended.message ?? "");

  // Hold a waiting job through B: it does not start; resumed, it does.
  const blocker = await submit(a, "sleep 30", "ca");
  await until(a, blocker.id, ["running"]);
  const held = await submit(b, "true", "ca");
  await holdOrResumeJob(b.deps, b.plane.inbox, alice, "s", held.id, "hold");
  // Cancel through B: the agent on A kills the running job, which frees the node.
  await cancelJob(b.deps, b.plane.inbox, alice, "s", blocker.id);
  const canceled = await until(a, blocker.id, ["terminated", "error"]);
  assert.notEqual(canceled.exitCode, 0, "killed, not finished");
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await a.store.getJob(held.id))?.state, "hold", "a held job does not start");
  await holdOrResumeJob(b.deps, b.plane.inbox, alice, "s", held.id, "resume");
  assert.equal((await until(a, held.id, ["terminated", "error"])).state, "terminated");
  for (const id of [slow.id, blocker.id, held.id]) assert.equal(runs(id), 1, `job ${id} ran once`);
});

it("the leader dies: B takes the site over within the lease, running jobs keep running, none runs twice", async () => {
  const [a, b] = servers as [Server, Server];
  const onA = await submit(b, "sleep 3", "ca");
  const onB = await submit(a, "sleep 3", "cb");
  await until(a, onA.id, ["running"]);
  await until(a, onB.id, ["running"]);
  const t0 = Date.now();
  kill(a);
  // The agent of node na reconnects to B, with its running job.
  connect(b, agents[0]!);
  await eventually(async () => b.leadership.leads("s"), (TTL + 2) * 1000, "B leads");
  assert.ok(Date.now() - t0 <= (TTL + 1) * 1000, `took over after ${Date.now() - t0} ms`);
  const next = await submit(b, "true", "ca");
  // Both runs end normally and report to B; the new job starts on na once its run is over.
  for (const id of [onA.id, onB.id, next.id])
    assert.equal((await until(b, id, ["terminated", "error"])).state, "terminated", `job ${id}`);
  for (const id of [onA.id, onB.id, next.id]) assert.equal(runs(id), 1, `job ${id} ran once`);
});

it("cores freed on B's agent (its report recorded by B) go to a waiting job within about a tick of the leader A", async () => {
  const [a, b] = servers as [Server, Server];
  const first = await submit(b, "sleep 1", "cb");
  const second = await submit(b, "true", "cb");
  const ran1 = await until(a, first.id, ["terminated", "error"]);
  const done = await until(a, second.id, ["terminated", "error"]);
  assert.equal(done.state, "terminated", done.message ?? "");
  // The leader's periodic pass is 30 s away: the store's change marker woke it.
  assert.ok(done.startedAt! - ran1.stoppedAt! < 3, `${done.startedAt! - ran1.stoppedAt!} s after`);
});

it("output of a job whose node is held by another server: a 503 naming that server", async () => {
  const [a, b] = servers as [Server, Server];
  const j = await submit(b, "echo hello; sleep 2", "ca");
  await until(a, j.id, ["running"]);
  const request = {
    path: join(work, `OAR.${j.id}.stdout`),
    offset: 0,
    follow: false,
    jobId: j.id,
    user: "alice",
  };
  await assert.rejects(b.plane.port.readOutput("na", request), (e: Error & { code?: string }) => {
    assert.equal(e.code, "GRIDQ_UNAVAILABLE");
    assert.match(e.message, /node na's agent is connected to server A/);
    return true;
  });
  assert.throws(
    () => b.plane.port.exec("na", { jobId: j.id, user: "alice", command: "true", directory: work, env: {} }),
    /connected to server A/,
  );
  // Through the holder, it is read.
  const body = await a.plane.port.readOutput("na", request);
  assert.ok(body && typeof body === "object" && "on" in body, "a stream");
});
