// A job adopted after a restart whose pid now names another process (reused): the runner reports
// the job ended and signals nothing, so a root agent never kills a stranger's process group.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { JobRunner, type Report } from "../../src/agent/job-runner.ts";
import { JobStateDir } from "../../src/agent/job-state-dir.ts";
import { procStartOf } from "../../src/agent/proc.ts";
import type { Lease } from "../../src/protocol/agent-messages.ts";
import { eventually, tempDir, track } from "../helpers/gridq-process.ts";

test("recovery does not kill the group of a process that reuses an adopted job's pid", async () => {
  const dir = tempDir("gridq-reuse-");
  chmodSync(dir, 0o777);
  // The stranger: a group leader (detached: its own session and group), alive the whole test.
  const stranger = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
  track(stranger);
  const pid = stranger.pid!;
  const realStart = procStartOf(pid);
  assert.ok(realStart, "this test needs /proc");
  const lease: Lease = {
    leaseId: "lease-reused",
    jobId: 1,
    jobName: null,
    user: "someone",
    command: "true",
    directory: dir,
    stdoutPath: join(dir, "out"),
    stderrPath: join(dir, "err"),
    walltime: 60,
    nodes: [{ node: "n1", cores: 1 }],
    env: {},
  };
  // A previous agent recorded the job at this pid, but with another start time: the job's own
  // process ended, and the pid was given to the stranger since.
  const stateDir = join(dir, "state");
  const runDir = join(dir, "run");
  const disk = new JobStateDir(stateDir, runDir);
  disk.saveLease(lease, null);
  disk.saveStarted(lease.leaseId, { pid, procStart: String(Number(realStart) - 1), at: Date.now() / 1000 });

  const reports: Report[] = [];
  const runner = new JobRunner({
    stateDir,
    runDir,
    killGrace: 1,
    accountFor: () => null,
    baseEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    umask: "077",
    pollInterval: 50,
    report: (r) => reports.push(r),
  });
  runner.recover();
  const end = await eventually(async () => reports.find((r) => r.type !== "started"), 5_000, "the job's end");
  assert.equal(end.leaseId, lease.leaseId);
  // A kill request for it signals nothing either.
  runner.kill(lease.leaseId);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(stranger.exitCode, null, "the stranger was not killed");
  assert.equal(stranger.signalCode, null, "the stranger was not killed");
  process.kill(pid, 0); // still there
  runner.detach();
  stranger.kill("SIGKILL");
});
