// Hole 9a of issue 10: kill -9 of `gridq serve`'s embedded agent (its child process). The server
// starts it again with backoff; the new agent adopts the running job, which ends `terminated`
// with its real exit code (not `error`, not lost), having run once.

import assert from "node:assert/strict";
import { chmodSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { eventually, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";

// A node left without an agent for deadAfter would be declared dead (its job in `error`): short
// enough to matter within the test, long enough for two restarts on a loaded machine.
const CONFIG = `
site: {cores: 2}
agents: {heartbeatInterval: 0.2, suspectAfter: 1.5, deadAfter: 20, metricsInterval: 0}
jobs: {killGrace: 1}
`;

let server: GridqServer;
let client: GridqClient;
let work: string;

before(async () => {
  server = await startGridq({ config: CONFIG });
  const token = JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token;
  client = new GridqClient({ url: server.url, credentials: { token } });
  work = tempDir();
  chmodSync(work, 0o777); // jobs may run as an unprivileged account
});
after(() => server.stop());

/** The embedded agent: the server's child process running embedded-main.ts. */
function embeddedAgentPid(serverPid: number): number | null {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== serverPid) continue;
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes("embedded-main")) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

const node = async () => (await client.listAgents("local")).items[0]!;

test("a crashed embedded agent is restarted, adopts its running job, and the job's result is recorded once", async () => {
  const j = await client.submitJob("local", {
    command: `echo run >> ${work}/count-$GRIDQ_JOB_ID; sleep 6; exit 4`,
    directory: work,
  });
  await eventually(async () => (await client.getJob("local", j.uid)).state === "running", 15_000, "running");

  // Twice: the second restart comes after a longer delay (backoff), still within deadAfter.
  let previous: number | null = null;
  for (let crash = 0; crash < 2; crash++) {
    const pid = await eventually(
      async () => {
        const p = embeddedAgentPid(server.proc.pid!);
        return p !== previous && p;
      },
      10_000,
      "the embedded agent process",
    );
    process.kill(pid, "SIGKILL");
    previous = pid;
    await eventually(async () => !(await node()).connected, 10_000, "the agent's connection gone");
    // Meanwhile the job is neither failed nor lost: its process runs on.
    assert.equal((await client.getJob("local", j.uid)).state, "running");
    await eventually(async () => (await node()).connected, 20_000, "the embedded agent back");
    const again = embeddedAgentPid(server.proc.pid!);
    assert.ok(again !== null && again !== pid, "a new agent process");
  }

  const done = await client.waitJob("local", j.uid);
  assert.equal(done.state, "terminated", done.message);
  assert.equal(done.exit_code, 4);
  assert.equal(readFileSync(join(work, `count-${j.uid}`), "utf8"), "run\n", "ran exactly once");
  // The restarted agent takes new work too.
  const k = await client.submitJob("local", { command: "exit 2", directory: work });
  const k2 = await client.waitJob("local", k.uid);
  assert.equal(k2.state, "terminated", k2.message);
  assert.equal(k2.exit_code, 2);
});
