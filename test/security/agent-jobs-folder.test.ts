// A root server whose jobs folder sits under a folder other accounts cannot cross (the default
// data folder in /root, 0700) says so at start, and a job that names no directory fails naming
// the closed folder, not with a puzzling "cannot enter directory".

import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { cannotMakeAccounts, makeAccounts } from "../helpers/unix-accounts.ts";

const skip = cannotMakeAccounts();
if (skip) console.log(`# skipped: ${skip}`);

const WARNING = /is not reachable by other accounts/;

describe("a jobs folder other accounts cannot reach", { skip }, () => {
  const servers: GridqServer[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));

  async function serve(home: string, yaml: string): Promise<{ server: GridqServer; alice: GridqClient }> {
    mkdirSync(home, { mode: 0o711 });
    const server = await startGridq({ home, config: `jobs: {accounts: ${yaml}}\nsite: {cores: 1}\n` });
    servers.push(server);
    const r = await server.cli(["user", "add", "alice"], { input: "a-long-password\n" });
    assert.equal(r.code, 0, r.stderr);
    const alice = new GridqClient({
      url: server.url,
      credentials: { user: "alice", password: "a-long-password" },
    });
    return { server, alice };
  }

  test("is named in a warning at start, and a job without directory fails naming it", async () => {
    const made = makeAccounts(["alice"]);
    const closed = tempDir(); // 0700, root's: as /root is
    chmodSync(closed, 0o700);
    const { server, alice } = await serve(join(closed, "home"), made.yaml);
    const log = readFileSync(join(server.home, "server.log"), "utf8");
    assert.match(log, WARNING);
    assert.ok(log.includes(`${closed} (mode 0700)`), `the warning names the closed folder:\n${log}`);
    const j = await alice.submitJob("local", { command: "true" });
    const done = await alice.waitJob("local", j.uid);
    assert.equal(done.state, "error");
    assert.match(
      done.message ?? "",
      /cannot be reached by .*: .* is closed to it; name a directory for the job/,
    );
    assert.ok(done.message?.includes(closed), done.message ?? "");
  });

  test("a reachable jobs folder gives no warning, and the job runs there", async () => {
    const made = makeAccounts(["alice"]);
    const open = tempDir();
    chmodSync(open, 0o711);
    const { server, alice } = await serve(join(open, "home"), made.yaml);
    assert.doesNotMatch(readFileSync(join(server.home, "server.log"), "utf8"), WARNING);
    const j = await alice.submitJob("local", { command: "pwd" });
    const done = await alice.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    assert.equal(
      await new Response((await alice.output("local", j.uid)).body).text(),
      `${join(open, "home", "jobs", "alice")}\n`,
    );
  });
});
