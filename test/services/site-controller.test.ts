// The site controller in memory: facts in through its inbox, decisions out through a fake
// AgentPort (the one seam faked: it stands for agents' connections), over a real SQLite store and
// a manual clock. As HyperQueue tests its scheduler core with a test comm.

import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import { afterEach, beforeEach, describe, it } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import type { JobRecord } from "../../src/domain/job.ts";
import type { NodeInfo } from "../../src/domain/node.ts";
import type { JobReport } from "../../src/protocol/agent-messages.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import { cancelJob } from "../../src/services/cancel-job.ts";
import { changeWalltime } from "../../src/services/change-walltime.ts";
import type { Clock, ServiceDeps } from "../../src/services/context.ts";
import type { AgentPort, LeaseRef } from "../../src/services/controller/agent-port.ts";
import { Inbox } from "../../src/services/controller/inbox.ts";
import type { Leadership } from "../../src/services/controller/leadership.ts";
import { NodeLiveness } from "../../src/services/controller/node-liveness.ts";
import { SiteController } from "../../src/services/controller/site-controller.ts";
import { holdOrResumeJob } from "../../src/services/hold-job.ts";
import { submitJobs } from "../../src/services/submit-job.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/gridq-process.ts";

const node = (uid: string, cores: number): NodeInfo => ({
  uid,
  site: "s",
  cluster: "c",
  cores,
  memoryBytes: 2 ** 33,
  gpus: 0,
  properties: { cluster: "c" },
});

/** Records what the controller asked of execution; `connected` is what agents' connections would be. */
class FakePort implements AgentPort {
  connectedNodes = new Set<string>();
  runs: JobRecord[] = [];
  kills: { lease: LeaseRef; reason: string }[] = [];
  walltimes: JobRecord[] = [];
  execsEnded: { node: string; jobId: number }[] = [];
  connected(): ReadonlySet<string> {
    return this.connectedNodes;
  }
  run(job: JobRecord): void {
    this.runs.push(job);
  }
  kill(lease: LeaseRef, reason: string): void {
    this.kills.push({ lease, reason });
  }
  walltime(job: JobRecord): void {
    this.walltimes.push(job);
  }
  endExecs(node: string, jobId: number): void {
    this.execsEnded.push({ node, jobId });
  }
  async readOutput(): Promise<"unreachable"> {
    return "unreachable";
  }
  exec(): Readable | null {
    return null;
  }
}

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const alice = { name: "alice", admin: false };

let store: SqliteStore;
let clock: Clock & { t: number };
let deps: ServiceDeps;
let port: FakePort;
let inbox: Inbox;
let controller: SiteController;
let leading: boolean;

function build(): void {
  inbox = new Inbox();
  const liveness = new NodeLiveness(deps, { server: "test-server" });
  const leadership: Leadership = { leads: () => leading, renew: async () => [], release: async () => {} };
  controller = new SiteController(deps, { inbox, port, liveness, leadership });
  // As the server's ticker does once it is up: nodes are judged from this first sweep.
  void inbox.post({ type: "tick" });
}

beforeEach(async () => {
  store = new SqliteStore(":memory:");
  await store.migrate();
  clock = {
    t: 2_000_000_000,
    now() {
      return this.t;
    },
  };
  const config = resolveConfig({
    env: {},
    overrides: { home: tempDir(), "agents.suspectAfter": 15, "agents.deadAfter": 60 },
  });
  deps = { store, clock, config, nodes: staticNodeDirectory([node("a", 4), node("b", 2)]), log: silent };
  port = new FakePort();
  port.connectedNodes = new Set(["a", "b"]);
  leading = true;
  build();
});

afterEach(async () => {
  controller.close();
  await controller.idle();
  await store.close();
});

const submit = async (input: Parameters<typeof submitJobs>[4]): Promise<JobRecord> => {
  const [job] = await submitJobs(deps, inbox, alice, "s", { directory: "/tmp", ...input });
  await controller.idle();
  return job!;
};
const row = async (id: number) => (await store.getJob(id))!;
const started = (job: JobRecord, at: number): JobReport => ({
  type: "started",
  leaseId: job.leaseId!,
  jobId: job.id,
  pid: 4242,
  at,
});
const finished = (job: JobRecord, at: number, exitCode = 0): JobReport => ({
  type: "finished",
  leaseId: job.leaseId!,
  jobId: job.id,
  exitCode,
  signal: null,
  walltimeExceeded: false,
  at,
});
const report = (job: JobRecord, r: JobReport) =>
  inbox.post({ type: "report", site: "s", node: job.assignedNodes[0]!.node, report: r });

describe("site controller", () => {
  it("submitted: a job that fits is started through the port, on a connected node, with a fresh lease", async () => {
    const j = await submit({ command: "true", resources: "core=2" });
    assert.equal(port.runs.length, 1);
    const sent = port.runs[0]!;
    assert.equal(sent.id, j.id);
    const stored = await row(j.id);
    assert.equal(stored.state, "launching");
    assert.equal(stored.leaseId, sent.leaseId);
    assert.ok(stored.leaseId);
    assert.deepEqual(stored.assignedNodes, sent.assignedNodes);
  });

  it("submitted: nothing goes to a node whose agent is not connected; the job waits with a reason", async () => {
    port.connectedNodes = new Set(["b"]);
    const j = await submit({ command: "true", resources: "core=4" });
    assert.equal(port.runs.length, 0, "a 4-core job fits only on a, which is not connected");
    const w = await row(j.id);
    assert.equal(w.state, "waiting");
    assert.ok(w.pendingReason, "the waiting job says why");
  });

  it("report: started then finished are folded into the store; the post resolves once durable; freed cores go to the next job", async () => {
    const first = await submit({ command: "sleep 1", resources: "nodes=1/core=4", walltime: 600 });
    const a = port.runs.find((r) => r.id === first.id)!;
    const second = await submit({ command: "true", resources: "{network_address='a'}/core=4" });
    assert.equal((await row(second.id)).state, "waiting", "a is full");
    clock.t += 1;
    await report(a, started(a, clock.t));
    assert.equal((await row(first.id)).state, "running");
    clock.t += 5;
    // Resolved means recorded: the hub acknowledges to the agent only then.
    await report(a, finished(a, clock.t));
    const done = await row(first.id);
    assert.equal(done.state, "terminated");
    assert.equal(done.exitCode, 0);
    assert.deepEqual(port.execsEnded, [{ node: a.assignedNodes[0]!.node, jobId: first.id }]);
    await controller.idle();
    assert.equal((await row(second.id)).state, "launching", "the freed cores went to the waiting job");
    assert.ok(port.runs.some((r) => r.id === second.id));
  });

  it("report: a stale or repeated report changes nothing and still resolves (the agent may forget it)", async () => {
    const j = await submit({ command: "true" });
    const sent = port.runs[0]!;
    await report(sent, finished(sent, clock.t + 1, 3));
    await report(sent, finished(sent, clock.t + 2, 9));
    await report(sent, { ...finished(sent, clock.t + 3, 7), leaseId: "not-the-lease" });
    const r = await row(j.id);
    assert.equal(r.state, "terminated");
    assert.equal(r.exitCode, 3);
  });

  it("canceled: a running job is killed through the port on its head node; a waiting one needs no kill", async () => {
    const run = await submit({ command: "sleep 100", resources: "core=4" });
    const sent = port.runs[0]!;
    await report(sent, started(sent, clock.t));
    await cancelJob(deps, inbox, alice, "s", run.id);
    await controller.idle();
    assert.equal(port.kills.length, 1);
    assert.deepEqual(port.kills[0]!.lease, {
      node: sent.assignedNodes[0]!.node,
      leaseId: sent.leaseId,
      jobId: run.id,
    });
    assert.match(port.kills[0]!.reason, /canceled by alice/);
    const waiting = await submit({ command: "true", hold: true });
    await cancelJob(deps, inbox, alice, "s", waiting.id);
    await controller.idle();
    assert.equal(port.kills.length, 1, "no process to kill for a held job");
    assert.equal((await row(waiting.id)).state, "error");
  });

  it("held, resumed: a resumed job is planned and started", async () => {
    const j = await submit({ command: "true", hold: true });
    assert.equal(port.runs.length, 0);
    await holdOrResumeJob(deps, inbox, alice, "s", j.id, "resume");
    await controller.idle();
    assert.equal(port.runs[0]?.id, j.id);
    assert.equal((await row(j.id)).state, "launching");
  });

  it("walltimeChanged: a running job's agent hears its new walltime", async () => {
    const j = await submit({ command: "sleep 100", walltime: 600 });
    const sent = port.runs[0]!;
    await report(sent, started(sent, clock.t));
    await controller.idle();
    const r = await changeWalltime(deps, controller, inbox, alice, "s", j.id, "+0:10");
    await controller.idle();
    assert.equal(r.granted, 600);
    assert.equal(port.walltimes.length, 1);
    assert.equal(port.walltimes[0]!.walltime, 1200);
  });

  it("agentConnected: a launching lease the agent does not know is sent again; a running one is lost; a lease it should not run is killed", async () => {
    const launching = await submit({ command: "true", resources: "{network_address='a'}/core=1" });
    const running = await submit({ command: "sleep 100", resources: "{network_address='a'}/core=1" });
    const [l, r] = [port.runs[0]!, port.runs[1]!];
    assert.equal(l.id, launching.id);
    await report(r, started(r, clock.t));
    const node = r.assignedNodes[0]!.node;
    assert.equal(l.assignedNodes[0]!.node, node, "both on one node");
    port.runs = [];
    await inbox.post({
      type: "agentConnected",
      site: "s",
      node,
      known: [{ leaseId: "left-over", jobId: 999, done: false }],
    });
    await controller.idle();
    assert.deepEqual(
      port.runs.map((j) => j.id),
      [launching.id],
    );
    const lost = await row(running.id);
    assert.equal(lost.state, "error");
    assert.match(lost.message ?? "", /came back without the job/);
    assert.deepEqual(
      port.kills.map((k) => k.lease),
      [{ node, leaseId: "left-over", jobId: 999 }],
    );
  });

  it("agentLost: the node leaves the plan (jobs wait rather than go to it)", async () => {
    port.connectedNodes = new Set(["a"]);
    await inbox.post({ type: "agentLost", site: "s", node: "b" });
    const j = await submit({ command: "true", resources: "{network_address='b'}/core=1" });
    assert.equal(port.runs.length, 0);
    assert.equal((await row(j.id)).state, "waiting");
  });

  it("tick: a node silent past agents.deadAfter dies; its jobs end in error and are killed", async () => {
    const j = await submit({ command: "sleep 100", resources: "core=4" });
    const sent = port.runs[0]!;
    await report(sent, started(sent, clock.t));
    clock.t += 30;
    await inbox.post({ type: "tick" });
    assert.equal((await row(j.id)).state, "running", "suspected is not dead");
    assert.equal(controller.reachable("s").size, 0, "suspected nodes take no new work");
    clock.t += 31;
    await inbox.post({ type: "tick" });
    await controller.idle();
    const dead = await row(j.id);
    assert.equal(dead.state, "error");
    assert.match(dead.message ?? "", /dead: no word from its agent for 61 s/);
    assert.equal(port.kills[0]?.lease.jobId, j.id);
    assert.ok(controller.nodeStatus("s").every((n) => n.state === "dead"));
  });

  it("tick: a node another server heard from (its row in the store) is alive here too", async () => {
    const j = await submit({ command: "sleep 100", resources: "core=4" });
    const sent = port.runs[0]!;
    await report(sent, started(sent, clock.t));
    const head = sent.assignedNodes[0]!.node;
    clock.t += 50;
    await store.recordHeard([{ node: head, site: "s", server: "other-server", at: clock.t }]);
    clock.t += 20;
    await inbox.post({ type: "tick" });
    await controller.idle();
    assert.equal((await row(j.id)).state, "running", "heard 20 s ago by another server: alive");
    const status = controller.nodeStatus("s").find((n) => n.node === head)!;
    assert.equal(status.state, "suspected");
    assert.equal(status.lastSeen, clock.t - 20);
    // And what this server hears is in the store for the others.
    clock.t += 1;
    await controller.idle();
  });

  it("node status: a node whose agent another server holds, and still hears, is connected; a stale row is not", async () => {
    port.connectedNodes = new Set(["a"]);
    await store.connectAgent({ node: "b", site: "s", server: "other-server", since: clock.t });
    await store.recordHeard([{ node: "b", site: "s", server: "other-server", at: clock.t }]);
    await inbox.post({ type: "tick" });
    const connected = () => new Map(controller.nodeStatus("s").map((n) => [n.node, n.connected]));
    assert.deepEqual(
      [...connected()],
      [
        ["a", true],
        ["b", true],
      ],
    );
    // The other server stopped hearing b (it died, or b left it without a goodbye).
    clock.t += 20;
    await inbox.post({ type: "tick" });
    assert.equal(connected().get("b"), false);
  });

  it("fair-share: usage of jobs that ended before a restart is rebuilt from the store", async () => {
    controller.close();
    await controller.idle();
    deps = {
      ...deps,
      config: { ...deps.config, scheduler: { ...deps.config.scheduler, fairShareWeight: 86_400 } },
    };
    // Before this server started, alice used 4 cores for 10 hours.
    // (Stored through the closed controller's inbox: it plans nothing any more.)
    const [past] = await submitJobs(deps, inbox, alice, "s", { command: "true", directory: "/tmp" });
    await store.updateJobs([
      {
        id: past!.id,
        expect: { state: "waiting" },
        patch: {
          state: "terminated",
          startedAt: clock.t - 37_000,
          stoppedAt: clock.t - 1000,
          assignedNodes: [{ node: "a", cores: 4 }],
        },
        event: { at: clock.t - 1000, type: "TERMINATE", description: "x" },
      },
    ]);
    port.connectedNodes = new Set(["a"]);
    build();
    const filler = await submit({ command: "sleep 100", resources: "core=4" });
    const fill = port.runs[0]!;
    assert.equal(fill.id, filler.id);
    clock.t += 1;
    const older = await submit({ command: "true", resources: "core=4" });
    clock.t += 1;
    const [newer] = await submitJobs(deps, inbox, { name: "bob", admin: false }, "s", {
      command: "true",
      resources: "core=4",
      directory: "/tmp",
    });
    await inbox.post({ type: "tick", nodesChanged: true });
    await controller.idle();
    await report(fill, finished(fill, clock.t));
    await controller.idle();
    assert.equal(port.runs[1]?.id, newer!.id, "bob's newer job goes first: alice used the site");
    assert.equal((await row(older.id)).state, "waiting");
  });

  it("leadership: a server that does not lead a site starts nothing there and declares no node dead", async () => {
    leading = false;
    const j = await submit({ command: "true" });
    assert.equal(port.runs.length, 0);
    assert.equal((await row(j.id)).state, "waiting");
    // Leading again (the lease row is won): the waiting job is planned and started.
    leading = true;
    await inbox.post({ type: "tick", nodesChanged: true });
    await controller.idle();
    const sent = port.runs[0]!;
    assert.equal(sent.id, j.id);
    await report(sent, started(sent, clock.t));
    leading = false;
    clock.t += 120;
    await inbox.post({ type: "tick" });
    await controller.idle();
    assert.equal((await row(j.id)).state, "running", "only the leader ends jobs on a silent node");
    assert.equal(port.kills.length, 0);
  });
});
