// Remote agents as real processes on loopback: three nodes of one site, jobs spread over them,
// a multi-node job sees all its nodes, output is read (and followed) through the agents, and
// agents or the server dying mid-job neither lose a result nor run a job twice.

import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type AgentProcess, nodeTokenFile, startAgent } from "../helpers/agent-process.ts";
import {
  eventually,
  freePort,
  type GridqServer,
  ROOT,
  startGridq,
  tempDir,
} from "../helpers/gridq-process.ts";

const NODES = ["n1", "n2", "n3"];
// Short liveness times, so a dead agent is noticed within seconds.
const CONFIG = `
site:
  name: local
  nodes: [${NODES.map((n) => `{name: ${n}, cores: 2}`).join(", ")}]
agents: {heartbeatInterval: 0.2, suspectAfter: 1.5, deadAfter: 4, metricsInterval: 0.3}
jobs: {killGrace: 1}
`;

/**
 * The tests' admin is root in CI: these agents (remote, so without the local-admin exception)
 * run its jobs as root only with jobs.allowRoot. Accounts are test/e2e/agent-accounts' subject.
 */
const ROOT_JOBS = { env: { GRIDQ_ALLOW_ROOT_JOBS: "1" } };

const tokenOf = (home: string): string =>
  JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token;

describe("agents on many hosts", () => {
  let server: GridqServer;
  let client: GridqClient;
  let port: number;
  const tokens = new Map<string, string>();
  const agents = new Map<string, AgentProcess>();
  let work: string;

  const nodeStates = async () => new Map((await client.listAgents("local")).items.map((n) => [n.node, n]));
  const allAlive = async () => {
    const s = await nodeStates();
    return NODES.every((n) => s.get(n)?.state === "alive" && s.get(n)?.connected);
  };

  before(async () => {
    port = await freePort();
    server = await startGridq({ config: CONFIG, port });
    client = new GridqClient({ url: server.url, credentials: { token: tokenOf(server.home) } });
    work = tempDir();
    chmodSync(work, 0o777); // jobs may run as an unprivileged account
    for (const n of NODES) {
      tokens.set(n, await nodeTokenFile(server, n));
      agents.set(n, startAgent(server.url, n, { tokenFile: tokens.get(n)!, ...ROOT_JOBS }));
    }
    await eventually(allAlive, 15_000, "three agents connected");
  });
  after(async () => {
    for (const a of agents.values()) await a.stop();
    await server.stop();
  });

  test("a bad credential, or one for another node, is refused; the CLI lists nodes", async () => {
    const wrong = startAgent(server.url, "n2", { tokenFile: tokens.get("n1")!, ...ROOT_JOBS });
    await eventually(async () => wrong.proc.exitCode !== null, 10_000, "refused agent exits");
    assert.equal(wrong.proc.exitCode, 3);
    assert.match(wrong.log(), /refused by the server: no valid credential for node 'n2'/);
    const r = await server.cli(["nodes"]);
    assert.equal(r.code, 0);
    for (const n of NODES) assert.match(r.stdout, new RegExp(`${n} alive`));
    // A user's token is no node credential.
    const res = await fetch(`${server.url}/3.0/sites/local/agents/connect?node=n1`, {
      headers: { authorization: `Bearer ${tokenOf(server.home)}` },
    });
    assert.equal(res.status, 401);
  });

  test("jobs spread over the nodes; a multi-node job sees all its nodes; output comes through agents", async () => {
    const jobs = await Promise.all(
      [1, 2, 3].map(() =>
        client.submitJob("local", {
          command: "head -1 $GRIDQ_NODEFILE; sleep 1",
          resources: "nodes=1/core=2",
          directory: work,
        }),
      ),
    );
    const done = await Promise.all(jobs.map((j) => client.waitJob("local", j.uid)));
    const heads = done.map((j) => j.assigned_nodes[0]);
    assert.deepEqual([...new Set(heads)].sort(), NODES, "one whole-node job on each node");
    for (const j of done) {
      assert.equal(j.state, "terminated");
      const r = await server.cli(["output", String(j.uid)]);
      assert.equal(r.stdout.trim(), j.assigned_nodes[0]);
    }

    const multi = await client.submitJob("local", {
      command: "sort -u $GRIDQ_NODEFILE | tr '\\n' ' '",
      resources: "nodes=3",
      directory: work,
    });
    const m = await client.waitJob("local", multi.uid);
    assert.equal(m.state, "terminated");
    const r = await server.cli(["output", String(m.uid)]);
    assert.equal(r.stdout.trim(), NODES.join(" "));
  });

  test("status over three agents: a besteffort job on every node is preempted where a nodes=2 job needs room", async () => {
    const status = async () => {
      const r = await fetch(`${server.url}/3.0/sites/local/status`, {
        headers: { authorization: `Bearer ${tokenOf(server.home)}` },
      });
      return (await r.json()) as {
        nodes: Record<string, { hard: string; soft: string; free_slots: number }>;
      };
    };
    assert.deepEqual(
      Object.entries((await status()).nodes).map(([k, v]) => [k, v.hard, v.free_slots]),
      NODES.map((n) => [n, "alive", 2]),
    );
    const be = await client.submitJob("local", {
      command: "sleep 60",
      resources: "nodes=3",
      queue: "besteffort",
      directory: work,
    });
    await eventually(async () => (await client.getJob("local", be.uid)).state === "running");
    const soft = Object.values((await status()).nodes).map((v) => v.soft);
    assert.deepEqual(soft, ["busy_besteffort", "busy_besteffort", "busy_besteffort"]);
    const normal = await client.submitJob("local", {
      command: "true",
      resources: "nodes=2",
      directory: work,
    });
    const killed = await client.waitJob("local", be.uid);
    assert.equal(killed.state, "error");
    assert.match(killed.message ?? "", new RegExp(`job ${normal.uid} needs its cores`));
    assert.equal((await client.waitJob("local", normal.uid)).state, "terminated");
  });

  test("gridq exec from inside a job runs on each of its nodes, and only on them", async () => {
    const gridq = `"${process.execPath}" "${join(ROOT, "bin/gridq.js")}"`;
    const multi = await client.submitJob("local", {
      command: `for n in $(sort -u $GRIDQ_NODEFILE); do ${gridq} exec --node $n -- 'echo on $GRIDQ_NODE as $(id -u); echo err >&2; exit 4'; echo "rc=$?"; done`,
      resources: "nodes=3",
      directory: work,
    });
    const m = await client.waitJob("local", multi.uid);
    assert.equal(m.state, "terminated", m.message);
    const out = (await server.cli(["output", String(m.uid)])).stdout;
    const uid = String(process.getuid?.());
    assert.equal(out, NODES.map((n) => `on ${n} as ${uid}\nrc=4\n`).join(""));
    assert.equal((await server.cli(["output", "--stderr", String(m.uid)])).stdout, "err\nerr\nerr\n");

    const single = await client.submitJob("local", {
      command: `for n in ${NODES.join(" ")}; do grep -qx $n $GRIDQ_NODEFILE || other=$n; done; ${gridq} exec --node $other -- true; echo "rc=$?"`,
      resources: "nodes=1/core=1",
      directory: work,
    });
    const sj = await client.waitJob("local", single.uid);
    assert.equal((await server.cli(["output", String(sj.uid)])).stdout, "rc=1\n");
    assert.match(
      (await server.cli(["output", "--stderr", String(sj.uid)])).stdout,
      /node n\d is not a node of job/,
    );
  });

  test("nodes' samples are served in the kwollect shape; bad times are a 400", async () => {
    const get = (qs: string) =>
      fetch(`${server.url}/3.0/sites/local/metrics?${qs}`, {
        headers: { authorization: `Bearer ${tokenOf(server.home)}` },
      });
    const points = await eventually(async () => {
      const r = await get("nodes=n1,n2&metrics=node_load1,node_memory_total_bytes");
      const body = (await r.json()) as {
        device_id: string;
        metric_id: string;
        value: number;
        timestamp: string;
      }[];
      return new Set(body.map((p) => p.device_id)).size === 2 && body;
    });
    for (const p of points) {
      assert.ok(["n1", "n2"].includes(p.device_id));
      assert.ok(["node_load1", "node_memory_total_bytes"].includes(p.metric_id));
      assert.equal(typeof p.value, "number");
      assert.ok(Date.parse(p.timestamp) > Date.now() - 300_000);
    }
    const bad = await get("start_time=yesterday-ish");
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /start_time/);
    const old = await get("start_time=2000-01-01T00:00:00Z&end_time=946771200");
    assert.deepEqual(await old.json(), []);

    // The server's own metrics, for Prometheus (public: no credentials).
    const prom = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(prom, /^gridq_jobs\{state="terminated"\} [1-9]\d*$/m);
    assert.match(prom, /^gridq_nodes\{state="alive"\} 3$/m);
    assert.match(prom, /^gridq_submissions_total [1-9]\d*$/m);
    assert.match(prom, /^gridq_scheduling_pass_seconds_total \d/m);
    assert.match(
      prom,
      /^gridq_http_request_duration_seconds_count\{method="POST",route="\/3.0\/sites\/:site\/jobs",status="201"\} [1-9]/m,
    );
  });

  test("gridq output --follow streams new lines until the job ends", async () => {
    const j = await client.submitJob("local", {
      command: "for i in 1 2 3 4; do echo line$i; sleep 0.3; done; echo oops >&2",
      directory: work,
    });
    const started = Date.now();
    const r = await server.cli(["output", "--follow", String(j.uid)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "line1\nline2\nline3\nline4\n");
    assert.ok(Date.now() - started >= 900, "follow waited for the job");
    const e = await server.cli(["output", "--stderr", String(j.uid)]);
    assert.equal(e.stdout, "oops\n");
  });

  test("kill -9 of an agent mid-job: its node goes suspected then dead, the job ends in error", async () => {
    const j = await client.submitJob("local", { command: "echo $$; exec sleep 60", directory: work });
    const running = await eventually(async () => {
      const v = await client.getJob("local", j.uid);
      return v.state === "running" && v;
    });
    const node = running.assigned_nodes[0]!;
    const pid = await eventually(async () => {
      try {
        return Number(readFileSync(join(work, `OAR.${j.uid}.stdout`), "utf8").trim()) || null;
      } catch {
        return null;
      }
    });
    await agents.get(node)!.stop("SIGKILL");
    await eventually(async () => (await nodeStates()).get(node)?.state === "suspected", 10_000, "suspected");
    assert.equal((await client.getJob("local", j.uid)).state, "running", "a suspected node keeps its jobs");
    await eventually(async () => (await nodeStates()).get(node)?.state === "dead", 10_000, "dead");
    const failed = await eventually(async () => {
      const v = await client.getJob("local", j.uid);
      return v.state === "error" && v;
    });
    assert.match(failed.message ?? "", new RegExp(`node ${node} dead`));

    // The job's process outlived its agent; the agent that comes back is told to kill it.
    process.kill(pid, 0);
    const again = startAgent(server.url, node, {
      tokenFile: tokens.get(node)!,
      stateDir: agents.get(node)!.stateDir,
      ...ROOT_JOBS,
    });
    agents.set(node, again);
    await eventually(
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      10_000,
      "the orphaned job killed",
    );
    await eventually(allAlive, 10_000, "agent back");
  });

  test("kill -9 of an agent, restarted in time: the job keeps running and its result is recorded", async () => {
    const j = await client.submitJob("local", {
      command: `echo run >> ${work}/count-$GRIDQ_JOB_ID; sleep 2; exit 3`,
      directory: work,
    });
    const running = await eventually(async () => {
      const v = await client.getJob("local", j.uid);
      return v.state === "running" && v;
    });
    const node = running.assigned_nodes[0]!;
    const old = agents.get(node)!;
    await old.stop("SIGKILL");
    const again = startAgent(server.url, node, {
      tokenFile: tokens.get(node)!,
      stateDir: old.stateDir,
      ...ROOT_JOBS,
    });
    agents.set(node, again);
    const done = await client.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    assert.equal(done.exit_code, 3);
    assert.equal(readFileSync(join(work, `count-${j.uid}`), "utf8"), "run\n", "ran exactly once");
  });

  test("a job canceled while its agent was down is killed when the agent comes back", async () => {
    const j = await client.submitJob("local", { command: "sleep 30", directory: work });
    const running = await eventually(async () => {
      const v = await client.getJob("local", j.uid);
      return v.state === "running" && v;
    });
    const node = running.assigned_nodes[0]!;
    const old = agents.get(node)!;
    await old.stop("SIGKILL");
    await client.cancelJob("local", j.uid);
    assert.equal(
      (await client.getJob("local", j.uid)).state,
      "running",
      "stays running until its process is gone",
    );
    agents.set(
      node,
      startAgent(server.url, node, { tokenFile: tokens.get(node)!, stateDir: old.stateDir, ...ROOT_JOBS }),
    );
    const started = Date.now();
    const done = await client.waitJob("local", j.uid);
    assert.equal(done.state, "error");
    assert.match(done.message ?? "", /canceled/);
    assert.ok(Date.now() - started < 15_000, "killed, not left to run its 30 s");
  });

  test("kill -9 of the server mid-job, then restart: the job continues and its result is recorded", async () => {
    const j = await client.submitJob("local", {
      command: `echo run >> ${work}/count-$GRIDQ_JOB_ID; sleep 1.5; echo finished; exit 7`,
      directory: work,
    });
    await eventually(async () => (await client.getJob("local", j.uid)).state === "running");
    await server.stop("SIGKILL");
    // The job ends while the server is down: its result waits on the agent's disk.
    await new Promise((r) => setTimeout(r, 2500));
    server = await startGridq({ home: server.home, port });
    client = new GridqClient({ url: server.url, credentials: { token: tokenOf(server.home) } });
    const done = await client.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    assert.equal(done.exit_code, 7);
    assert.equal(readFileSync(join(work, `count-${j.uid}`), "utf8"), "run\n", "ran exactly once");
    await eventually(allAlive, 15_000, "agents reconnected");
    const r = await server.cli(["output", String(j.uid)]);
    assert.equal(r.stdout, "finished\n");
  });
});
