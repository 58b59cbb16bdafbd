// The job runner on real processes and a real state folder: a job outlives its runner, the next
// runner adopts it and reports its exit status once; a lease is never run twice.

import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { JobRunner, type Report } from "../../src/agent/job-runner.ts";
import type { Lease } from "../../src/protocol/agent-messages.ts";
import { eventually, tempDir } from "../helpers/gridq-process.ts";

const isRoot = process.getuid?.() === 0;

function setup() {
  const dir = tempDir("gridq-runner-");
  chmodSync(dir, 0o777);
  const reports: Report[] = [];
  const make = () =>
    new JobRunner({
      stateDir: join(dir, "state"),
      runDir: join(dir, "run"),
      killGrace: 1,
      // As root the job would need an account: run as the runner's own (tests only).
      accountFor: () => null,
      baseEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      umask: "077",
      pollInterval: 50,
      report: (r) => reports.push(r),
    });
  let n = 0;
  const lease = (command: string, walltime = 60): Lease => {
    n++;
    return {
      leaseId: `lease-${n}`,
      jobId: n,
      jobName: null,
      user: "someone",
      command,
      directory: dir,
      stdoutPath: join(dir, `out-${n}`),
      stderrPath: join(dir, `err-${n}`),
      walltime,
      nodes: [{ node: "n1", cores: 1 }],
      env: {},
    };
  };
  const finished = (leaseId: string) =>
    eventually(
      async () => reports.find((r) => r.leaseId === leaseId && r.type !== "started"),
      10_000,
      leaseId,
    );
  return { dir, reports, make, lease, finished };
}

test("a job outlives its runner; the next runner adopts it and reports its status", async () => {
  const t = setup();
  const first = t.make();
  const running = t.lease("sleep 0.6; echo done; exit 9");
  const doneEarly = t.lease("exit 4");
  first.run(running);
  first.run(doneEarly);
  await t.finished(doneEarly.leaseId);
  // The runner goes away (as an agent killed -9 would, minus its timers).
  first.detach();
  t.reports.length = 0;

  const second = t.make();
  second.recover();
  assert.deepEqual(
    second
      .known()
      .map((k) => [k.leaseId, k.done])
      .sort(),
    [
      [running.leaseId, false],
      [doneEarly.leaseId, true],
    ].sort(),
  );
  // The unacknowledged result is kept for the next connection.
  assert.equal(second.unacknowledged().find((r) => r.leaseId === doneEarly.leaseId)?.type, "finished");
  const r = await t.finished(running.leaseId);
  assert.equal(r.type, "finished");
  assert.equal(r.type === "finished" && r.exitCode, 9);
  assert.equal(readFileSync(running.stdoutPath, "utf8"), "done\n");
});

test("an acknowledged lease is forgotten and never run again, even by a new runner", async () => {
  const t = setup();
  const a = t.make();
  const l = t.lease(`echo x >> ${t.dir}/count`);
  a.run(l);
  await t.finished(l.leaseId);
  a.run(l);
  a.ack(l.leaseId);
  assert.deepEqual(a.known(), []);
  const b = t.make();
  b.recover();
  b.run(l);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(readFileSync(join(t.dir, "count"), "utf8"), "x\n");
  assert.deepEqual(b.known(), []);
});

test("kill stops an adopted job's whole group; walltime is enforced from the recorded start", async () => {
  const t = setup();
  const a = t.make();
  const long = t.lease(`sleep 30 & echo up > ${t.dir}/up; sleep 30; wait`);
  const short = t.lease("sleep 30", 1);
  a.run(long);
  a.run(short);
  // Running for real (a stop landing in the microseconds between the wrapper's fork and the
  // command's exec is only caught by the SIGKILL escalation; docs/agents.md).
  await eventually(async () => existsSync(join(t.dir, "up")));
  a.detach();
  const b = t.make();
  b.recover();
  b.kill(long.leaseId);
  const k = await t.finished(long.leaseId);
  assert.equal(k.type === "finished" && k.signal, "SIGTERM", JSON.stringify(k));
  const started = t.reports.find((r) => r.leaseId === long.leaseId && r.type === "started");
  const pgid = started?.type === "started" ? started.pid : 0;
  await eventually(
    async () => {
      try {
        process.kill(-pgid, 0);
        return false;
      } catch {
        return true;
      }
    },
    5000,
    "the background sleep gone with the group",
  );
  const w = await t.finished(short.leaseId);
  assert.equal(w.type === "finished" && w.walltimeExceeded, true);
});

test("an output file the job's account cannot open fails the job, saying which", {
  skip: isRoot ? "root opens anything" : false,
}, async () => {
  const t = setup();
  const a = t.make();
  const l = { ...t.lease("true"), stdoutPath: "/proc/version" };
  a.run(l);
  const r = await t.finished(l.leaseId);
  assert.equal(r.type, "failed");
  assert.match(r.type === "failed" ? r.reason : "", /cannot open output file \/proc\/version/);
});
