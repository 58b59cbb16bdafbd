// Two real `gridq serve` processes on one shared database (PostgreSQL: a SQLite file takes one
// server), one remote agent connected to each. Submissions through either run on either agent;
// cancel, hold and walltime through the server that does not hold a job's agent reach it; after
// `kill -9` of the leader the other leads within the lease, running jobs keep running and report,
// and no job runs twice (each appends its id to a file). A fresh database on the server of
// GRIDQ_TEST_PG_URL (`npm test` starts one); without it the file skips, saying why.

import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type AgentProcess, nodeTokenFile, startAgent } from "../helpers/agent-process.ts";
import { eventually, freePort, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { createDatabase } from "../helpers/postgres-server.ts";

const PG_URL = process.env.GRIDQ_TEST_PG_URL;
const SKIP = PG_URL ? false : "GRIDQ_TEST_PG_URL is not set: two servers need a shared PostgreSQL database";
if (SKIP) console.log(`# two-servers.test.ts skipped: ${SKIP}`);

const NODES = ["n1", "n2"];
const CONFIG = `
site:
  name: local
  nodes: [${NODES.map((n) => `{name: ${n}, cores: 2}`).join(", ")}]
agents: {heartbeatInterval: 0.2, suspectAfter: 1.5, deadAfter: 20, metricsInterval: 1}
jobs: {killGrace: 1}
`;
const ROOT_JOBS = { env: { GRIDQ_ALLOW_ROOT_JOBS: "1" } };
/** LEADER_LEASE_SECONDS plus a tick and the agent's reconnection. */
const TAKEOVER_BOUND_MS = 12_000;

describe("two servers, one database", { skip: SKIP }, () => {
  let home: string;
  let a: GridqServer;
  let b: GridqServer;
  let portA: number;
  let db: { url: string; drop(): Promise<void> };
  let env: NodeJS.ProcessEnv;
  const agents = new Map<string, AgentProcess>();
  let work: string;
  let ran: string;
  const client = (s: GridqServer) =>
    new GridqClient({
      url: s.url,
      credentials: { token: JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token },
    });
  const runs = (id: number) =>
    existsSync(ran)
      ? readFileSync(ran, "utf8")
          .split("\n")
          .filter((l) => l === String(id)).length
      : 0;
  const job = (cmd: string, extra: object = {}) => ({
    command: `echo $GRIDQ_JOB_ID >> ${ran}; ${cmd}`,
    resources: "nodes=1/core=2",
    directory: work,
    ...extra,
  });
  const headOf = async (s: GridqServer, id: number) =>
    (await client(s).waitStarted("local", id)).assigned_nodes[0];

  before(async () => {
    home = tempDir();
    work = tempDir();
    chmodSync(work, 0o777);
    ran = join(work, "ran");
    // One data folder (its config, keys and the admin's credentials), one database, two servers.
    db = await createDatabase(PG_URL!);
    env = { GRIDQ_DB_URL: db.url };
    portA = await freePort();
    a = await startGridq({ config: CONFIG, home, env, port: portA });
    // A leads: it started first and claimed the site at its first tick.
    await new Promise((r) => setTimeout(r, 1500));
    b = await startGridq({ home, env });
    agents.set("n1", startAgent(a.url, "n1", { tokenFile: await nodeTokenFile(a, "n1"), ...ROOT_JOBS }));
    agents.set("n2", startAgent(b.url, "n2", { tokenFile: await nodeTokenFile(b, "n2"), ...ROOT_JOBS }));
    const connected = async (s: GridqServer) =>
      (await client(s).listAgents("local")).items.every((n) => n.state === "alive" && n.connected);
    await eventually(
      async () => (await connected(a)) && (await connected(b)),
      15_000,
      "both agents seen by both",
    );
  });

  after(async () => {
    for (const ag of agents.values()) await ag.stop();
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  test("submissions through either server run on both agents, each once", async () => {
    const ids = [];
    for (const s of [a, b, b, a]) ids.push((await client(s).submitJob("local", job("sleep 1"))).uid);
    const done = await Promise.all(ids.map((id) => client(b).waitJob("local", id)));
    for (const j of done) assert.equal(j.state, "terminated");
    assert.deepEqual([...new Set(done.map((j) => j.assigned_nodes[0]))].sort(), NODES);
    for (const id of ids) assert.equal(runs(id), 1);
  });

  test("cancel, hold and walltime through the server that does not hold the agent reach it", async () => {
    const long = [
      (await client(b).submitJob("local", job("sleep 60"))).uid,
      (await client(b).submitJob("local", job("sleep 60"))).uid,
    ];
    const heads = await Promise.all(long.map((id) => headOf(a, id)));
    assert.deepEqual([...heads].sort(), NODES);
    // Both nodes busy: a held job stays held.
    const held = (await client(a).submitJob("local", job("true"))).uid;
    await client(b).holdJob("local", held, "hold");
    // Cancel each long job through the server that does not hold its node's agent.
    for (const [i, id] of long.entries()) await client(heads[i] === "n1" ? b : a).cancelJob("local", id);
    for (const id of long) assert.notEqual((await client(a).waitJob("local", id)).exit_code, 0);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await client(a).getJob("local", held)).state, "hold");
    await client(b).holdJob("local", held, "resume");
    assert.equal((await client(a).waitJob("local", held)).state, "terminated");

    // A 3 s job sleeping 6 is extended through the other server: it ends normally.
    const slow = (await client(a).submitJob("local", job("sleep 6", { walltime: 3 }))).uid;
    const head = await headOf(a, slow);
    const other = head === "n1" ? b : a;
    const r = await fetch(`${other.url}/3.0/sites/local/jobs/${slow}/walltime`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ walltime: "+0:0:20" }),
    });
    assert.equal(r.status, 202, await r.text());
    assert.equal((await client(a).waitJob("local", slow)).state, "terminated");
    for (const id of [...long, held, slow]) assert.equal(runs(id), 1);
  });

  test("kill -9 of the leader: the other leads within the bound; running jobs keep running; none runs twice", async () => {
    const running = [
      (await client(b).submitJob("local", job("sleep 4"))).uid,
      (await client(b).submitJob("local", job("sleep 4"))).uid,
    ];
    await Promise.all(running.map((id) => headOf(b, id)));
    const t0 = Date.now();
    await a.stop("SIGKILL");
    // Submissions keep coming through B meanwhile.
    const later = [];
    for (let i = 0; i < 4; i++) later.push((await client(b).submitJob("local", job("true"))).uid);
    // A comes back on its port (as a supervisor would restart it): n1's agent reconnects there.
    a = await startGridq({ home, env, port: portA });
    const done = await Promise.all([...running, ...later].map((id) => client(b).waitJob("local", id)));
    for (const j of done) assert.equal(j.state, "terminated", `${j.uid}: ${j.message ?? ""}`);
    const firstLater = Math.min(
      ...done.slice(running.length).map((j) => j.started_at ?? Number.POSITIVE_INFINITY),
    );
    assert.ok(
      firstLater * 1000 - t0 < TAKEOVER_BOUND_MS,
      `a job started ${firstLater * 1000 - t0} ms after the kill`,
    );
    for (const id of [...running, ...later]) assert.equal(runs(id), 1, `job ${id} ran once`);
  });
});
