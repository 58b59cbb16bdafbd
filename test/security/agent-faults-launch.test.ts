// Hole 9b of issue 10: an agent killed (-9) right after spawning a job, before recording its
// start. The next agent finds the job's wrapper by the GRIDQ_LEASE_ID in its environment and
// follows it as running (walltime enforced, result recorded once) instead of reporting "failed
// to launch" while the process runs on unsupervised. The moment of the kill comes from the
// agent's test-only GRIDQ_TEST_AGENT_CRASH_AFTER_SPAWN (it kills itself there).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type AgentProcess, nodeTokenFile, startAgent } from "../helpers/agent-process.ts";
import { eventually, type GridqServer, startGridq, tempDir, track } from "../helpers/gridq-process.ts";

const CONFIG = `
site:
  name: local
  nodes: [{name: n1, cores: 2}]
agents: {heartbeatInterval: 0.2, suspectAfter: 1.5, deadAfter: 30, metricsInterval: 0}
jobs: {killGrace: 1}
`;

/**
 * The tests' admin is root in CI: remote agents (without the local-admin exception) run its jobs
 * as root only with jobs.allowRoot. Accounts are not these tests' subject.
 */
const ROOT_JOBS = { env: { GRIDQ_ALLOW_ROOT_JOBS: "1" } };

let server: GridqServer;
let client: GridqClient;
let work: string;
const agents: AgentProcess[] = [];

before(async () => {
  server = await startGridq({ config: CONFIG });
  const token = JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token;
  client = new GridqClient({ url: server.url, credentials: { token } });
  work = tempDir();
  chmodSync(work, 0o777); // jobs may run as an unprivileged account
});
after(async () => {
  for (const a of agents) await a.stop();
  await server.stop();
});

/** Gone, or a zombie (ended; its new parent, init here, reaps it when it will). */
const gone = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
};

test("a job whose agent died before recording its start is adopted as running, under its walltime", async () => {
  const tokenFile = await nodeTokenFile(server, "n1");
  const crashing = startAgent(server.url, "n1", {
    tokenFile,
    env: { ...ROOT_JOBS.env, GRIDQ_TEST_AGENT_CRASH_AFTER_SPAWN: "1" },
  });
  agents.push(crashing);
  const j = await client.submitJob("local", {
    command: `echo $$ >> ${work}/pids-$GRIDQ_JOB_ID; exec sleep 60`,
    directory: work,
    walltime: 6,
  });
  await eventually(
    async () => crashing.proc.signalCode === "SIGKILL",
    20_000,
    "the agent killed after the spawn",
  );
  // The job runs, unrecorded: its agent is gone, the server still has it launching.
  const pid = await eventually(
    async () => {
      try {
        return Number(readFileSync(join(work, `pids-${j.uid}`), "utf8").trim()) || null;
      } catch {
        return null;
      }
    },
    10_000,
    "the job's process",
  );
  assert.equal((await client.getJob("local", j.uid)).state, "launching");
  // A decoy carrying the job's marker, in a session of its own, started after the job: the
  // recovery must follow the job's wrapper, never the decoy (nor signal it at the walltime).
  const [lease] = readdirSync(join(crashing.stateDir, "jobs"));
  assert.ok(
    lease && !existsSync(join(crashing.stateDir, "jobs", lease, "started.json")),
    "no start recorded",
  );
  const decoy = spawn("sleep", ["60"], {
    detached: true,
    stdio: "ignore",
    env: { ...process.env, GRIDQ_LEASE_ID: lease },
  });
  track(decoy);

  const again = startAgent(server.url, "n1", { tokenFile, stateDir: crashing.stateDir, ...ROOT_JOBS });
  agents.push(again);
  // Found and followed: reported started, not "failed to launch".
  const running = await eventually(
    async () => {
      const v = await client.getJob("local", j.uid);
      return v.state !== "launching" && v;
    },
    15_000,
    "the job recovered",
  );
  assert.equal(running.state, "running", running.message);
  const started = JSON.parse(readFileSync(join(crashing.stateDir, "jobs", lease, "started.json"), "utf8"));
  assert.equal(started.pid, pid, "the job's wrapper is followed, not the decoy");
  // Its walltime (6 s from the spawn) is enforced by the new agent: not left to run its 60 s.
  const done = await client.waitJob("local", j.uid);
  assert.equal(done.state, "error");
  assert.match(done.message ?? "", /walltime exceeded/);
  assert.ok(gone(pid), "the job's process is gone");
  assert.ok(!gone(decoy.pid!), "the decoy was not signaled");
  decoy.kill("SIGKILL");
  assert.equal(readFileSync(join(work, `pids-${j.uid}`), "utf8"), `${pid}\n`, "ran exactly once");
  assert.ok(
    done.stopped_at! - done.started_at! < 15,
    `stopped by its walltime (${done.stopped_at! - done.started_at!} s)`,
  );
});
