// A root agent serving a job's output never opens what the job's path names before checking it
// (a device such as /dev/watchdog arms when opened, a FIFO's writer wakes): a FIFO or a device
// reached through a symlinked folder answers a 4xx, and no writer ever sees a reader.

import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { eventually, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { cannotMakeAccounts, makeAccounts } from "../helpers/unix-accounts.ts";

const skip = cannotMakeAccounts();
if (skip) console.log(`# skipped: ${skip}`);

const status = async (c: GridqClient, id: number): Promise<number> => {
  try {
    await new Response((await c.output("local", id, "stdout")).body).text();
    return 200;
  } catch (e) {
    return (e as { status?: number }).status ?? -1;
  }
};

describe("the output route never opens a special file a job names", { skip }, () => {
  let server: GridqServer;
  let alice: GridqClient;
  let work: string;

  before(async () => {
    const made = makeAccounts(["alice"]);
    const a = made.accounts.alice!;
    server = await startGridq({ config: `jobs: {accounts: ${made.yaml}}\nsite: {cores: 2}\n` });
    const r = await server.cli(["user", "add", "alice"], { input: "a-long-password\n" });
    assert.equal(r.code, 0, r.stderr);
    alice = new GridqClient({ url: server.url, credentials: { user: "alice", password: "a-long-password" } });
    work = join(tempDir(), "work");
    chmodSync(join(work, ".."), 0o755);
    for (const d of [work, join(work, "sub"), join(work, "dev")]) {
      mkdirSync(d, { mode: 0o755 });
      chownSync(d, a.uid, a.gid);
    }
  });
  after(() => server?.stop());

  test("a FIFO behind a symlinked folder is refused and never opened for reading", async () => {
    // The job swaps its stdout folder for a symlink to a folder holding a FIFO, with a writer
    // blocked opening it: if the agent opened the FIFO, the writer would wake and leave `seen`.
    const j = await alice.submitJob("local", {
      directory: work,
      stdout: "sub/out",
      stderr: "/dev/null",
      command:
        "rm -rf sub && mkdir real && mkfifo real/out && ln -s real sub && " +
        "{ (exec 3>real/out; echo opened > seen) & w=$!; sleep 0.5; touch ready; sleep 4; kill $w; true; }",
    });
    await eventually(async () => existsSync(join(work, "ready")), 20_000, "the job's FIFO");
    assert.equal(await status(alice, j.uid), 403, "a FIFO is not served");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(existsSync(join(work, "seen")), false, "the FIFO's writer never saw a reader");
    const done = await alice.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    assert.equal(existsSync(join(work, "seen")), false, "the FIFO's writer never saw a reader");
  });

  test("a device behind a symlinked folder (/dev/tty) is refused as not a regular file", async () => {
    const j = await alice.submitJob("local", {
      directory: work,
      stdout: "dev/tty",
      stderr: "/dev/null",
      command: "rm -rf dev && ln -s /dev dev",
    });
    const done = await alice.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    // Opened for reading, /dev/tty would fail "no such device" (a 404) or hand the agent a
    // controlling terminal: named with O_PATH, it is seen to be a device and refused.
    assert.equal(await status(alice, j.uid), 403);
  });

  test("a device named directly is refused too", async () => {
    const j = await alice.submitJob("local", { directory: work, stdout: "/dev/null", command: "true" });
    const done = await alice.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    assert.equal(await status(alice, j.uid), 403);
  });
});
