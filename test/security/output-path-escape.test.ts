// Hostile jobs against a root agent's file operations (issue 10, hole 1): a job that plants a
// symlinked folder, a symlinked status file, or names a folder it cannot enter must never make
// the agent create, read or enter anything with more rights than the job's own account.

import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { cannotMakeAccounts, makeAccounts } from "../helpers/unix-accounts.ts";

const skip = cannotMakeAccounts();
if (skip) console.log(`# skipped: ${skip}`);

const text = async (c: GridqClient, id: number, stream: "stdout" | "stderr" = "stdout") =>
  new Response((await c.output("local", id, stream)).body).text();

describe("a job's paths never borrow the root agent's rights", { skip }, () => {
  let server: GridqServer;
  let alice: GridqClient;
  let accounts: ReturnType<typeof makeAccounts>["accounts"];
  const run = async (c: GridqClient, job: Parameters<GridqClient["submitJob"]>[1]) =>
    c.waitJob("local", (await c.submitJob("local", job)).uid);

  before(async () => {
    const made = makeAccounts(["alice", "bob"]);
    accounts = made.accounts;
    server = await startGridq({ config: `jobs: {accounts: ${made.yaml}}\nsite: {cores: 2}\n` });
    for (const name of ["alice", "bob"]) {
      const r = await server.cli(["user", "add", name], { input: "a-long-password\n" });
      assert.equal(r.code, 0, r.stderr);
    }
    alice = new GridqClient({ url: server.url, credentials: { user: "alice", password: "a-long-password" } });
  });
  after(() => server?.stop());

  test("a symlinked folder planted in the job folder does not let outputs land outside it", async () => {
    const config = readFileSync(join(server.home, "config.yaml"), "utf8");
    const plant = await run(alice, { command: `ln -s ${server.home} evil && echo planted` });
    assert.equal(plant.state, "terminated", plant.message);
    for (const target of ["evil/config.yaml", "evil/planted.yaml"]) {
      const j = await run(alice, { command: "echo 'jobs: {allowRoot: true}'", stdout: target });
      assert.equal(j.state, "error", `${target}: ${j.message}`);
      assert.match(j.message ?? "", /cannot open output file/);
    }
    assert.equal(readFileSync(join(server.home, "config.yaml"), "utf8"), config, "config.yaml is untouched");
    assert.equal(
      existsSync(join(server.home, "planted.yaml")),
      false,
      "nothing was created in the data folder",
    );
  });

  test("a job cannot make the agent read a file through its status folder", async () => {
    // The wrapper's arguments are visible to the job: it finds its status path there and
    // tries to swap in a symlink to /etc/shadow where the agent reads why a job failed.
    const j = await run(alice, {
      command:
        "st=$(tr '\\0' '\\n' < /proc/$$/cmdline | grep -x '/.*/status/.*' | head -n 1); " +
        'ln -s /etc/shadow "$st.why"; rm -f "$st"; ln -s /etc/shadow "$st"; echo "tried $st"',
    });
    assert.doesNotMatch(j.message ?? "", /root:/, "no line of /etc/shadow in the job's message");
    assert.equal(j.state, "terminated", j.message);
    assert.match(await text(alice, j.uid), /tried \/.*status/);
  });

  test("a folder the job's account cannot enter is not entered for it", async () => {
    // Bob's home is closed (0700); a folder inside it is open (0755): only bob can get there.
    const bobsHome = join(tempDir(), "home");
    const inside = join(bobsHome, "open");
    mkdirSync(inside, { recursive: true, mode: 0o755 });
    writeFileSync(join(inside, "secret"), "bob's secret\n", { mode: 0o644 });
    chownSync(bobsHome, accounts.bob!.uid, accounts.bob!.gid);
    chmodSync(bobsHome, 0o700);
    chmodSync(join(bobsHome, ".."), 0o755);
    const j = await run(alice, {
      command: "cat secret",
      directory: inside,
      stdout: "/dev/null",
      stderr: "/dev/null",
    });
    assert.equal(j.state, "error", j.message);
    assert.match(j.message ?? "", /cannot enter/);
    assert.doesNotMatch(j.message ?? "", /secret/);
  });

  test("the output API does not follow a symlinked folder to a file the job's account cannot reach", async () => {
    // A file alice owns, inside a folder she cannot cross (she lost access to it).
    const locked = join(tempDir(), "locked");
    mkdirSync(locked, { mode: 0o700 });
    writeFileSync(join(locked, "kept"), "not for alice any more\n", { mode: 0o600 });
    chownSync(join(locked, "kept"), accounts.alice!.uid, accounts.alice!.gid);
    chmodSync(join(locked, ".."), 0o755);
    const j = await run(alice, { command: `ln -s ${locked} door`, stderr: "/dev/null" });
    assert.equal(j.state, "terminated", j.message);
    const reader = await run(alice, { command: "true", stdout: "door/kept", stderr: "/dev/null" });
    assert.equal(reader.state, "error", "the wrapper could not open it as alice");
    await assert.rejects(
      text(alice, reader.uid),
      (e: Error & { status?: number }) => e.status === 403 || e.status === 404,
    );
  });
});

describe("a job's environment never reaches a process that runs as root", { skip }, () => {
  let server: GridqServer;
  let carol: GridqClient;

  before(async () => {
    // With supplementary groups, the agent starts the job through setpriv, as root until it
    // switches: the job's environment must not steer the dynamic loader of that root process.
    const made = makeAccounts(["carol"], { groups: ["users"] });
    server = await startGridq({ config: `jobs: {accounts: ${made.yaml}}\nsite: {cores: 1}\n` });
    const r = await server.cli(["user", "add", "carol"], { input: "a-long-password\n" });
    assert.equal(r.code, 0, r.stderr);
    carol = new GridqClient({ url: server.url, credentials: { user: "carol", password: "a-long-password" } });
  });
  after(() => server?.stop());

  test("loader variables (LD_DEBUG_OUTPUT, LD_PRELOAD...) do not make root write files", async () => {
    const trap = join(server.home, "pwned");
    const j = await carol.submitJob("local", {
      // Shell builtins only: any program the job starts prints the loader's trace itself.
      command: `echo "$LD_DEBUG_OUTPUT $GRIDQ_JOB_ID \${__GRIDQ_ENV_NAMES-restored}"`,
      env: { LD_DEBUG: "files", LD_DEBUG_OUTPUT: trap, GRIDQ_JOB_ID: "forged" },
      stderr: "/dev/null",
    });
    const done = await carol.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    const { readdirSync } = await import("node:fs");
    assert.deepEqual(
      readdirSync(server.home).filter((f) => f.startsWith("pwned")),
      [],
      "the root setpriv wrote no loader output in the data folder",
    );
    // The job itself still gets the variables it asked for (but not a forged job id).
    assert.equal(await text(carol, j.uid), `${trap} ${j.uid} restored\n`);
  });
});
