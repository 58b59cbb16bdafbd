// End to end: a real `gridq serve` process, the real CLI, real job processes.

import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { eventually, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { accountsFor } from "../helpers/unix-accounts.ts";

let server: GridqServer;
let work: string;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

before(async () => {
  // As root (CI), the second user, bob, runs jobs as a Unix account of his own, made for the test.
  const accounts = JSON.stringify(accountsFor(["bob"]));
  server = await startGridq({
    config: `jobs:\n  killGrace: 1\n  accounts: ${accounts}\nsite:\n  cores: 4\n`,
  });
  // Jobs may run as an unprivileged account (when tests run as root): let it in.
  work = tempDir();
  // Writable by the account jobs run as (the wrapper opens output files as that account).
  chmodSync(work, 0o777);
});

const json = async (args: string[]) => {
  const r = await server.cli([...args, "--json"], { cwd: work });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};

describe("gridq CLI against a real server", { concurrency: false }, () => {
  test("first start printed a password and the CLI works without login", () => {
    assert.match(server.password, /^\S{16,}$/);
  });

  test("run prints the job id; the output file holds what was printed", async () => {
    const r = await server.cli(["run", "--", "echo", "hello world"], { cwd: work });
    assert.equal(r.code, 0, r.stderr);
    const id = Number(r.stdout.trim());
    assert.ok(id > 0);
    const w = await server.cli(["wait", String(id)], { cwd: work });
    assert.equal(w.code, 0, w.stderr);
    assert.equal(readFileSync(join(work, `OAR.${id}.stdout`), "utf8"), "hello world\n");
    const info = await server.cli(["info", String(id)]);
    assert.match(info.stdout, /Status\s+terminated/);
    assert.match(info.stdout, /Exit code\s+0/);
    const out = await server.cli(["output", String(id)]);
    assert.equal(out.stdout, "hello world\n");
  });

  test("run --wait exits with the job's exit code", async () => {
    const r = await server.cli(
      ["run", "-l", "core=2,walltime=0:01:00", "--wait", "--", "sh", "-c", "sleep 1; exit 3"],
      {
        cwd: work,
      },
    );
    assert.equal(r.code, 3, r.stderr);
    const id = Number(r.stdout.trim());
    const job = await json(["info", String(id)]);
    assert.equal(job[0].state, "terminated");
    assert.equal(job[0].exit_code, 3);
    assert.equal(job[0].resources, "core=2,walltime=0:01:00");
    assert.ok(job[0].stopped_at - job[0].started_at >= 1);
  });

  test("the job sees its id, name and node file in its environment", async () => {
    const r = await server.cli(
      [
        "run",
        "-n",
        "envcheck",
        "-l",
        "core=3",
        "--wait",
        "--",
        'echo "$GRIDQ_JOB_ID $OAR_JOB_ID $GRIDQ_JOB_NAME"; cat "$OAR_NODEFILE"',
      ],
      { cwd: work },
    );
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const lines = readFileSync(join(work, `OAR.${id}.stdout`), "utf8")
      .trim()
      .split("\n");
    assert.equal(lines[0], `${id} ${id} envcheck`);
    assert.equal(lines.length, 4, "the node file lists the node once per core");
  });

  test("walltime is enforced: the job is killed and ends in error", async () => {
    const t0 = Date.now();
    const r = await server.cli(["run", "-l", "walltime=0:0:1", "--wait", "--", "sleep", "60"], { cwd: work });
    assert.notEqual(r.code, 0);
    assert.ok(Date.now() - t0 < 15_000, "killed well before the command's own end");
    const [job] = await json(["info", r.stdout.trim()]);
    assert.equal(job.state, "error");
    assert.match(job.message, /walltime/);
  });

  test("stop of a running job kills its whole process group", async () => {
    const r = await server.cli(["run", "--", "sh", "-c", "sleep 300 & echo $!; wait"], { cwd: work });
    const id = r.stdout.trim();
    const childPid = await eventually(
      async () => {
        try {
          const t = readFileSync(join(work, `OAR.${id}.stdout`), "utf8").trim();
          return t ? Number(t) : null;
        } catch {
          return null;
        }
      },
      10_000,
      "the job to print its child's pid",
    );
    assert.ok(alive(childPid));
    const list = await json(["list", "--state", "running"]);
    assert.ok(list.items.some((j: { uid: number }) => j.uid === Number(id)));
    const s = await server.cli(["stop", id]);
    assert.equal(s.code, 0, s.stderr);
    const w = await server.cli(["wait", id]);
    assert.notEqual(w.code, 0);
    await eventually(async () => !alive(childPid), 5000, "the background child to die");
    const [job] = await json(["info", id]);
    assert.equal(job.state, "error");
    assert.match(job.message, /cancel/);
  });

  test("stop of a waiting job cancels it before it starts", async () => {
    const r = await server.cli(["run", "--hold", "--", "true"], { cwd: work });
    const id = r.stdout.trim();
    assert.equal((await json(["info", id]))[0].state, "hold");
    assert.equal((await server.cli(["stop", id])).code, 0);
    const [job] = await json(["info", id]);
    assert.equal(job.state, "error");
    assert.equal(job.started_at, undefined);
  });

  test("a second user cannot cancel the first user's job, but can cancel their own", async () => {
    const add = await server.cli(["user", "add", "bob"], { input: "bob-secret-pw\n" });
    assert.equal(add.code, 0, add.stderr);
    const bobEnv = { GRIDQ_CREDENTIALS: join(tempDir(), "bob.json") };
    const login = await server.cli(["login", "--user", "bob"], { input: "bob-secret-pw\n", env: bobEnv });
    assert.equal(login.code, 0, login.stderr);
    const mode =
      readFileSync(bobEnv.GRIDQ_CREDENTIALS) &&
      (await import("node:fs")).statSync(bobEnv.GRIDQ_CREDENTIALS).mode & 0o777;
    assert.equal(mode, 0o600);
    const root = (await server.cli(["run", "--hold", "--", "true"], { cwd: work })).stdout.trim();
    const denied = await server.cli(["stop", root], { env: bobEnv });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /GRIDQ_FORBIDDEN/);
    const own = (await server.cli(["run", "--hold", "--", "true"], { cwd: work, env: bobEnv })).stdout.trim();
    assert.equal((await server.cli(["stop", own], { env: bobEnv })).code, 0);
    const wrongPw = await server.cli(["login", "--user", "bob"], {
      input: "nope-nope\n",
      env: { GRIDQ_CREDENTIALS: join(tempDir(), "x.json") },
    });
    assert.equal(wrongPw.code, 3);
  });

  test("bad inputs get clear errors, not crashes", async () => {
    const big = await server.cli(["run", "-l", "nodes=9", "--", "true"], { cwd: work });
    assert.equal(big.code, 1);
    assert.match(big.stderr, /can never be satisfied/);
    const bad = await server.cli(["run", "-l", "core=two", "--", "true"], { cwd: work });
    assert.match(bad.stderr, /GRIDQ_INVALID_RESOURCES/);
    const id = await server.cli(["info", "abc"]);
    assert.equal(id.code, 2);
    const missing = await server.cli(["info", "999999"]);
    assert.match(missing.stderr, /GRIDQ_UNKNOWN_JOB/);
    const queue = await server.cli(["run", "-q", "nope", "--", "true"], { cwd: work });
    assert.match(queue.stderr, /unknown queue 'nope'/);
  });

  test("url prints the server URL", async () => {
    const r = await server.cli(["url"]);
    assert.equal(r.stdout.trim(), server.url);
  });
});
