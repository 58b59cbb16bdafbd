// Users' jobs never share a Unix account (issue 10, hole 2), tried by a hostile user on a root
// server with the default settings: alice cannot read bob's outputs or his jobs' environment
// (their GRIDQ_TOKEN), a user without a Unix account is refused at submission, and nobody but
// the local first-start admin of a loopback-only server gets a job running as root.

import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { cannotMakeAccounts, makeAccounts } from "../helpers/unix-accounts.ts";

const skip = cannotMakeAccounts();
if (skip) console.log(`# skipped: ${skip}`);

const PASSWORD = "a-long-password";
const text = async (c: GridqClient, id: number) => new Response((await c.output("local", id)).body).text();
const tokenOf = (home: string): string =>
  JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token;

describe("jobs of different users never share an account", { skip }, () => {
  let server: GridqServer;
  let accounts: ReturnType<typeof makeAccounts>["accounts"];
  const clients = new Map<string, GridqClient>();
  const as = (name: string) => clients.get(name)!;
  const run = async (c: GridqClient, job: Parameters<GridqClient["submitJob"]>[1]) =>
    c.waitJob("local", (await c.submitJob("local", job)).uid);

  before(async () => {
    const made = makeAccounts(["alice", "bob"]);
    accounts = made.accounts;
    // root2 and daemon are mapped (or named) onto privileged accounts: both must be refused.
    const map = made.yaml.replace(/}$/, ", root2: root}");
    server = await startGridq({ config: `jobs: {accounts: ${map}}\nsite: {cores: 4}\n` });
    clients.set("root", new GridqClient({ url: server.url, credentials: { token: tokenOf(server.home) } }));
    for (const name of ["alice", "bob", "carol", "root2", "daemon"]) {
      const r = await server.cli(["user", "add", name], { input: `${PASSWORD}\n` });
      assert.equal(r.code, 0, r.stderr);
      clients.set(
        name,
        new GridqClient({ url: server.url, credentials: { user: name, password: PASSWORD } }),
      );
    }
  });
  after(() => server?.stop());

  test("each user's job runs as their own account, in their own folder, files 0600", async () => {
    for (const name of ["alice", "bob"]) {
      const j = await run(as(name), { command: 'echo "$(id -u) $(pwd)"' });
      assert.equal(j.state, "terminated", j.message);
      const dir = join(server.home, "jobs", name);
      assert.equal(await text(as(name), j.uid), `${accounts[name]!.uid} ${dir}\n`);
      const folder = statSync(dir);
      assert.equal(folder.uid, accounts[name]!.uid);
      assert.equal(folder.mode & 0o777, 0o700);
      const out = statSync(join(dir, `OAR.${j.uid}.stdout`));
      assert.equal(out.uid, accounts[name]!.uid);
      assert.equal(out.mode & 0o777, 0o600);
    }
    // The shared folder is no longer world-writable.
    assert.equal(statSync(join(server.home, "jobs")).mode & 0o002, 0);
  });

  test("alice cannot read bob's output files, even in a folder they share", async () => {
    const shared = tempDir();
    const { chmodSync } = await import("node:fs");
    chmodSync(shared, 0o1777);
    const b = await run(as("bob"), { command: "echo bob-secret-output", directory: shared });
    assert.equal(b.state, "terminated", b.message);
    const a = await run(as("alice"), {
      command: `cat ${shared}/OAR.${b.uid}.stdout ${server.home}/jobs/bob/OAR.${b.uid}.stdout ${server.home}/jobs/OAR.${b.uid}.stdout; echo done`,
      stderr: "/dev/null",
    });
    assert.equal(a.state, "terminated", a.message);
    assert.equal(await text(as("alice"), a.uid), "done\n");
    await assert.rejects(text(as("alice"), b.uid), (e: Error & { status?: number }) => e.status === 403);
  });

  test("alice cannot read the environment (and token) of bob's running job", async () => {
    const b = await as("bob").submitJob("local", { command: "sleep 30" });
    try {
      for (let i = 0; (await as("bob").getJob("local", b.uid)).state !== "running"; i++) {
        assert.ok(i < 200, "bob's job did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
      const a = await run(as("alice"), {
        command: `grep -l 'GRIDQ_JOB_ID=${b.uid}' /proc/[0-9]*/environ 2>/dev/null; echo searched`,
      });
      assert.equal(a.state, "terminated", a.message);
      assert.equal(await text(as("alice"), a.uid), "searched\n");
    } finally {
      await as("bob").cancelJob("local", b.uid);
    }
  });

  test("a user without a Unix account is refused at submission, saying so", async () => {
    await assert.rejects(
      as("carol").submitJob("local", { command: "true" }),
      (e: Error & { status?: number }) => e.status === 403 && /carol.*no Unix account/.test(e.message),
    );
  });

  test("no ordinary user gets a job running as root or a system account", async () => {
    for (const [name, why] of [
      ["root2", /root2.*root/],
      ["daemon", /daemon.*(system account|jobs\.minUid)/],
    ] as const) {
      await assert.rejects(
        as(name).submitJob("local", { command: "id -u > /tmp/gridq-should-not-exist" }),
        (e: Error & { status?: number }) => e.status === 403 && why.test(e.message),
        name,
      );
    }
  });

  test("the first-start admin of a loopback server (the quickstart) runs jobs as root", async () => {
    const j = await run(as("root"), { command: "id -u", directory: tempDir() });
    assert.equal(j.state, "terminated", j.message);
    assert.equal(await text(as("root"), j.uid), "0\n");
  });
});
