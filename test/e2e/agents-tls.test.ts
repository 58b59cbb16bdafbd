// A remote agent over TLS (wss): the server's certificate is verified; a self-signed server is
// trusted only with --ca; jobs then run and their output comes back through the agent.

import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { nodeTokenFile, startAgent } from "../helpers/agent-process.ts";
import { eventually, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";

let server: GridqServer;
let client: GridqClient;
let ca: string;

before(async () => {
  server = await startGridq({
    config:
      "tls: self-signed\nsite:\n  nodes: [{name: t1, cores: 1}]\nagents: {heartbeatInterval: 0.2, suspectAfter: 2, deadAfter: 30}\n",
  });
  ca = join(server.home, "tls", "self-signed.crt");
  const token = JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token;
  const { Agent, fetch } = await import("undici");
  client = new GridqClient({
    url: server.url,
    credentials: { token },
    fetch: fetch as unknown as typeof globalThis.fetch,
    init: { dispatcher: new Agent({ connect: { ca: readFileSync(ca, "utf8") } }) },
  });
});
after(() => server.stop());

test("an agent refuses an unverified certificate, and connects with --ca", async () => {
  assert.match(server.url, /^https:/);
  const tokenFile = await nodeTokenFile(server, "t1");
  const untrusting = startAgent(server.url, "t1", { tokenFile });
  await eventually(async () => /certificate/i.test(untrusting.log()), 15_000, "a certificate error");
  assert.equal((await client.listAgents("local")).items[0]!.connected, false);
  await untrusting.stop();

  // The tests' admin is root in CI: a remote agent runs its jobs as root only with jobs.allowRoot.
  startAgent(server.url, "t1", { tokenFile, ca, env: { GRIDQ_ALLOW_ROOT_JOBS: "1" } });
  await eventually(async () => (await client.listAgents("local")).items[0]!.connected, 15_000, "connected");
  const work = tempDir();
  chmodSync(work, 0o777);
  const j = await client.submitJob("local", { command: "echo over tls", directory: work });
  const done = await client.waitJob("local", j.uid);
  assert.equal(done.state, "terminated", done.message);
  const out = await client.output("local", j.uid);
  assert.equal(await new Response(out.body).text(), "over tls\n");
});
