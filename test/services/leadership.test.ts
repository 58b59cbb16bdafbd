// Leadership of a site by a lease row: two controllers over one database (two SQLite stores on
// one file, as two servers would open it), each with its own fake AgentPort and a shared manual
// clock. Only the leader starts jobs; when it stops renewing, the other takes over after the
// lease; a leader cut off from its store stops leading and says so.

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterEach, beforeEach, it } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import type { JobRecord } from "../../src/domain/job.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import type { Clock, Logger, ServiceDeps } from "../../src/services/context.ts";
import type { AgentPort, LeaseRef } from "../../src/services/controller/agent-port.ts";
import { Inbox } from "../../src/services/controller/inbox.ts";
import { LeaseLeadership } from "../../src/services/controller/lease-leadership.ts";
import { NodeLiveness } from "../../src/services/controller/node-liveness.ts";
import { SiteController } from "../../src/services/controller/site-controller.ts";
import { submitJobs } from "../../src/services/submit-job.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/gridq-process.ts";

class RecordingPort implements AgentPort {
  runs: JobRecord[] = [];
  connected(): ReadonlySet<string> {
    return new Set(["a"]);
  }
  run(job: JobRecord): void {
    this.runs.push(job);
  }
  kill(_lease: LeaseRef, _reason: string): void {}
  walltime(): void {}
  endExecs(): void {}
  async readOutput(): Promise<"unreachable"> {
    return "unreachable";
  }
  exec(): Readable | null {
    return null;
  }
}

interface Server {
  name: string;
  store: SqliteStore;
  deps: ServiceDeps;
  port: RecordingPort;
  inbox: Inbox;
  controller: SiteController;
  leadership: LeaseLeadership;
  logged: string[];
}

const TTL = 8;
let clock: Clock & { t: number };
let servers: Server[];
const alice = { name: "alice", admin: false };

async function server(name: string, path: string): Promise<Server> {
  const store = new SqliteStore(path);
  await store.migrate();
  const logged: string[] = [];
  const note = (_o: object, msg?: string) => void logged.push(msg ?? "");
  const log: Logger = { info: note, warn: note, error: note, debug() {} };
  const config = resolveConfig({
    env: {},
    overrides: { home: tempDir(), "agents.suspectAfter": 300, "agents.deadAfter": 600 },
  });
  const nodes = staticNodeDirectory([
    { uid: "a", site: "s", cluster: "c", cores: 2, memoryBytes: 2 ** 33, gpus: 0, properties: {} },
  ]);
  const deps: ServiceDeps = { store, clock, config, nodes, log };
  const port = new RecordingPort();
  const inbox = new Inbox();
  const leadership = new LeaseLeadership(deps, { server: name, ttl: TTL });
  const liveness = new NodeLiveness(deps, { server: name });
  const controller = new SiteController(deps, { inbox, port, liveness, leadership });
  return { name, store, deps, port, inbox, controller, leadership, logged };
}

const tick = async (s: Server) => {
  await s.inbox.post({ type: "tick" });
  await s.controller.idle();
};
const submit = async (s: Server, command: string) => {
  const [job] = await submitJobs(s.deps, s.inbox, alice, "s", {
    command,
    directory: "/tmp",
    resources: "core=2",
  });
  await s.controller.idle();
  return job!;
};

beforeEach(async () => {
  clock = {
    t: 2_000_000_000,
    now() {
      return this.t;
    },
  };
  const path = join(tempDir(), "gridq.db");
  servers = [await server("A", path), await server("B", path)];
});

afterEach(async () => {
  for (const s of servers) {
    s.controller.close();
    await s.controller.idle();
    await s.store.close().catch(() => {});
  }
});

it("one leader per site: the first to claim plans; the other starts nothing", async () => {
  const [a, b] = servers as [Server, Server];
  await tick(a);
  await tick(b);
  assert.equal(a.leadership.leads("s"), true);
  assert.equal(b.leadership.leads("s"), false);
  assert.ok(a.logged.includes("leading the site"));
  const j = await submit(b, "true");
  assert.equal(b.port.runs.length, 0, "B accepts the job but does not start it");
  assert.equal((await b.store.getJob(j.id))?.state, "waiting");
  // The leader learns of it from the store at its next pass (a tick after passInterval).
  clock.t += 31;
  await tick(a);
  assert.deepEqual(
    a.port.runs.map((r) => r.id),
    [j.id],
  );
  assert.equal((await a.store.getJob(j.id))?.state, "launching");
});

it("failover: when the leader stops renewing, the other takes the site over after the lease and plans from the store", async () => {
  const [a, b] = servers as [Server, Server];
  await tick(a);
  await tick(b);
  const first = await submit(a, "sleep 100");
  assert.equal(a.port.runs[0]?.id, first.id);
  const second = await submit(b, "true");
  // A dies (no more ticks). Within the lease B still defers to it...
  clock.t += TTL - 1;
  await tick(b);
  assert.equal(b.leadership.leads("s"), false);
  // ...and once it has expired, B leads: the running job is not started again, the waiting one
  // waits for its cores (node a is full with A's job).
  clock.t += 2;
  await tick(b);
  assert.equal(b.leadership.leads("s"), true);
  assert.equal(b.port.runs.length, 0, "the job A started is not started twice");
  const w = await b.store.getJob(second.id);
  assert.equal(w?.state, "waiting");
  assert.equal(w?.pendingReason, "resources", "B planned it from the store");
});

it("a leader that cannot reach the store stops leading when its lease ends, and says so", async () => {
  const [a, b] = servers as [Server, Server];
  await tick(a);
  assert.equal(a.leadership.leads("s"), true);
  await a.store.close();
  clock.t += 1;
  await tick(a);
  assert.equal(a.leadership.leads("s"), true, "still within its lease");
  clock.t += TTL;
  assert.equal(a.leadership.leads("s"), false, "its lease has ended: it plans no more");
  await tick(a);
  assert.ok(a.logged.includes("the store is unreachable: no longer leading the site"), a.logged.join("; "));
  await tick(b);
  assert.equal(b.leadership.leads("s"), true);
});

it("a stopping leader releases its sites: the other leads at its next tick", async () => {
  const [a, b] = servers as [Server, Server];
  await tick(a);
  await a.leadership.release();
  assert.equal(a.leadership.leads("s"), false);
  await tick(b);
  assert.equal(b.leadership.leads("s"), true);
});
