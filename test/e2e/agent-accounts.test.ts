// Whose account a job runs as, and what a job's output paths may reach: a root agent runs a job
// as its submitter's account (uid, gid, HOME), a remote root agent refuses a lease for a user
// without an account or whose account is root (no local-admin exception away from the server),
// and a root agent never writes or serves a file the job's account could not.
// Also: an agent speaking another protocol version is refused.

import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { AGENT_PROTOCOL_VERSION } from "../../src/protocol/agent-messages.ts";
import { GridqClient } from "../../src/sdk/client.ts";
import { type AgentProcess, nodeTokenFile, startAgent } from "../helpers/agent-process.ts";
import { type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { cannotMakeAccounts, makeAccounts } from "../helpers/unix-accounts.ts";

const skip = cannotMakeAccounts();
if (skip) console.log(`# skipped: ${skip}`);
const tokenOf = (home: string): string =>
  JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token;
const PASSWORD = "a-long-password";

async function addUser(server: GridqServer, name: string): Promise<GridqClient> {
  const r = await server.cli(["user", "add", name], { input: `${PASSWORD}\n` });
  assert.equal(r.code, 0, r.stderr);
  return new GridqClient({ url: server.url, credentials: { user: name, password: PASSWORD } });
}

describe("accounts and protections of a root agent", { skip }, () => {
  let server: GridqServer;
  let admin: GridqClient;
  let alice: GridqClient;
  let work: string;
  let accounts: ReturnType<typeof makeAccounts>["accounts"];

  before(async () => {
    const made = makeAccounts(["alice"]);
    accounts = made.accounts;
    server = await startGridq({ config: `jobs: {accounts: ${made.yaml}}\nsite: {cores: 2}\n` });
    admin = new GridqClient({ url: server.url, credentials: { token: tokenOf(server.home) } });
    alice = await addUser(server, "alice");
    work = tempDir();
    chmodSync(work, 0o777);
  });
  after(() => server?.stop());

  test("a job runs as its submitter's account, with its HOME", async () => {
    const a = accounts.alice!;
    const j = await alice.submitJob("local", {
      command: 'echo "$(id -u) $(id -g) $HOME $(umask)"',
      directory: work,
    });
    const done = await alice.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    const out = await alice.output("local", j.uid);
    assert.equal(await new Response(out.body).text(), `${a.uid} ${a.gid} ${a.home} 0077\n`);
  });

  test("output paths cannot reach files of other accounts", async () => {
    const before = readFileSync("/etc/hostname", "utf8");
    const j = await alice.submitJob("local", {
      command: "echo pwned",
      directory: "/etc",
      stdout: "hostname",
    });
    const done = await alice.waitJob("local", j.uid);
    assert.equal(done.state, "error");
    assert.match(
      done.message ?? "",
      new RegExp(`cannot open output file /etc/hostname as ${accounts.alice!.name}`),
    );
    assert.equal(readFileSync("/etc/hostname", "utf8"), before, "the file is untouched");
    await assert.rejects(alice.output("local", j.uid), (e: Error & { status?: number }) => e.status === 403);
  });

  test("an agent speaking another protocol version is refused, saying why", async () => {
    const node = (await admin.listAgents("local")).items[0]!.node;
    const { token } = await admin.issueNodeCredential("local", node);
    const ws = new WebSocket(
      `${server.url.replace("http", "ws")}/3.0/sites/local/agents/connect?node=${node}`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    await new Promise((r) => ws.once("open", r));
    const reply = new Promise<{ type: string; reason?: string }>((r) =>
      ws.once("message", (d) => r(JSON.parse(String(d)))),
    );
    ws.send(JSON.stringify({ type: "hello", version: AGENT_PROTOCOL_VERSION + 1, node, running: [] }));
    const m = await reply;
    assert.equal(m.type, "reject");
    assert.match(m.reason ?? "", /protocol version/);
    await new Promise((r) => ws.once("close", r));
    // The embedded agent's connection was not disturbed.
    assert.equal((await admin.listAgents("local")).items[0]!.connected, true);
  });
});

describe("a remote root agent decides with its own rules", { skip }, () => {
  let server: GridqServer;
  let agent: AgentProcess;
  let admin: GridqClient;

  before(async () => {
    // Nodes for agents only: the server checks nothing at submission, the agent refuses.
    server = await startGridq({ config: "site: {name: local, nodes: [{name: r1, cores: 1}]}\n" });
    admin = new GridqClient({ url: server.url, credentials: { token: tokenOf(server.home) } });
    agent = startAgent(server.url, "r1", { tokenFile: await nodeTokenFile(server, "r1") });
  });
  after(async () => {
    await agent?.stop();
    await server?.stop();
  });

  test("a user without a Unix account on the node: the job fails, naming the user", async () => {
    const carol = await addUser(server, "carol");
    const j = await carol.submitJob("local", { command: "true", directory: "/" });
    const done = await carol.waitJob("local", j.uid);
    assert.equal(done.state, "error");
    assert.match(done.message ?? "", /user 'carol' has no Unix account on node r1/);
  });

  test("the server's admin is not root on a remote node without jobs.allowRoot", async () => {
    const j = await admin.submitJob("local", { command: "id -u", directory: "/" });
    const done = await admin.waitJob("local", j.uid);
    assert.equal(done.state, "error");
    assert.match(done.message ?? "", /is root on node r1: jobs run as root only with jobs\.allowRoot/);
  });
});
