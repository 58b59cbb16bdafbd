// Whose account a job runs as, and what a job's output paths may reach: a root agent with
// jobs.runAsSubmitter runs a job as its submitter (a missing account fails the job, saying
// so), and a root agent never writes or serves a file the job's account does not own.
// Also: an agent speaking another protocol version is refused.

import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { findAccount } from "../../src/agent/unix-account.ts";
import { AGENT_PROTOCOL_VERSION } from "../../src/protocol/agent-messages.ts";
import { GridqClient } from "../../src/sdk/client.ts";
import { type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";

const isRoot = process.getuid?.() === 0;
const nobody = findAccount("nobody");
const tokenOf = (home: string): string =>
  JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token;

describe("accounts and protections of a root agent", {
  skip: !isRoot || !nobody ? "needs root and a 'nobody' account" : false,
}, () => {
  let server: GridqServer;
  let admin: GridqClient;
  let work: string;
  const userClient = async (name: string) => {
    const r = await server.cli(["user", "add", name], { input: "a-long-password\n" });
    assert.equal(r.code, 0, r.stderr);
    const c = new GridqClient({ url: server.url, credentials: { user: name, password: "a-long-password" } });
    return c;
  };

  before(async () => {
    server = await startGridq({ config: "jobs: {runAsSubmitter: true}\nsite: {cores: 2}\n" });
    admin = new GridqClient({ url: server.url, credentials: { token: tokenOf(server.home) } });
    work = tempDir();
    chmodSync(work, 0o777);
  });
  after(() => server.stop());

  test("a job runs as its submitter's account, with its HOME", async () => {
    const c = await userClient("nobody");
    const j = await c.submitJob("local", { command: 'echo "$(id -u) $(id -g) $HOME"', directory: work });
    const done = await c.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    const out = await c.output("local", j.uid);
    assert.equal(await new Response(out.body).text(), `${nobody!.uid} ${nobody!.gid} ${nobody!.home}\n`);
  });

  test("a submitter without an account on the node: the job fails, naming the user", async () => {
    const c = await userClient("ghost-user");
    const j = await c.submitJob("local", { command: "true", directory: work });
    const done = await c.waitJob("local", j.uid);
    assert.equal(done.state, "error");
    assert.match(done.message ?? "", /user 'ghost-user' has no Unix account on node/);
  });

  test("a root submitter runs as the fallback account, not as root", async () => {
    const j = await admin.submitJob("local", { command: "id -u", directory: work });
    const done = await admin.waitJob("local", j.uid);
    assert.equal(done.state, "terminated", done.message);
    assert.equal(await new Response((await admin.output("local", j.uid)).body).text(), `${nobody!.uid}\n`);
  });

  test("output paths cannot reach files of other accounts", async () => {
    const nb = new GridqClient({
      url: server.url,
      credentials: { user: "nobody", password: "a-long-password" },
    });
    const before = readFileSync("/etc/hostname", "utf8");
    const j = await nb.submitJob("local", { command: "echo pwned", directory: "/etc", stdout: "hostname" });
    const done = await nb.waitJob("local", j.uid);
    assert.equal(done.state, "error");
    assert.match(done.message ?? "", /cannot open output file \/etc\/hostname as nobody/);
    assert.equal(readFileSync("/etc/hostname", "utf8"), before, "the file is untouched");
    await assert.rejects(nb.output("local", j.uid), (e: Error & { status?: number }) => e.status === 403);
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
