// `gridq exec` runs as the job's account exactly as the job does: with its supplementary
// groups (through setpriv; before, Node's uid/gid options dropped them).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { cannotMakeAccounts, makeAccounts } from "../helpers/unix-accounts.ts";

const skip = cannotMakeAccounts();
if (skip) console.log(`# skipped: ${skip}`);

describe("gridq exec as the job's account", { skip }, () => {
  let server: GridqServer;
  let carol: GridqClient;
  let account: ReturnType<typeof makeAccounts>["accounts"][string];

  before(async () => {
    const made = makeAccounts(["carol"], { groups: ["users"] });
    account = made.accounts.carol!;
    server = await startGridq({ config: `jobs: {accounts: ${made.yaml}}\nsite: {cores: 1}\n` });
    const r = await server.cli(["user", "add", "carol"], { input: "a-long-password\n" });
    assert.equal(r.code, 0, r.stderr);
    carol = new GridqClient({ url: server.url, credentials: { user: "carol", password: "a-long-password" } });
  });
  after(() => server?.stop());

  test("has the account's uid and supplementary groups, and the job's variables", async () => {
    const users = Number(execFileSync("getent", ["group", "users"], { encoding: "utf8" }).split(":")[2]);
    assert.ok(account.groups.includes(users));
    const j = await carol.submitJob("local", {
      command: "sleep 60",
      stdout: "/dev/null",
      stderr: "/dev/null",
    });
    const started = await carol.waitStarted("local", j.uid);
    const node = started.assigned_nodes[0]!;
    let out = "";
    let exit: number | null = null;
    for await (const e of carol.exec("local", j.uid, node, 'echo "$GRIDQ_JOB_ID $USER"; id -u; id -G')) {
      if ("data" in e && e.fd === 1) out += new TextDecoder().decode(e.data);
      if ("exit" in e) exit = e.exit;
      if ("error" in e) assert.fail(e.error);
    }
    await carol.cancelJob("local", j.uid);
    assert.equal(exit, 0);
    const [vars, uid, groups] = out.trim().split("\n");
    assert.equal(vars, `${j.uid} ${account.name}`);
    assert.equal(Number(uid), account.uid);
    assert.ok(groups!.split(" ").map(Number).includes(users), `id -G: ${groups}`);
    await carol.waitJob("local", j.uid);
  });
});
