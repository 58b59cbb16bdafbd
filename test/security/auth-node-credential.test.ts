// Issuing a new node credential revokes the old one for live connections too: the agent connected
// with the old credential is let go (told why, it stops), and cannot come back with it; an agent
// with the new credential connects.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { type AgentProcess, nodeTokenFile, startAgent } from "../helpers/agent-process.ts";
import { eventually, type GridqServer, startGridq } from "../helpers/gridq-process.ts";

const CONFIG = `
site:
  name: local
  nodes: [{name: n1, cores: 1}, {name: n2, cores: 1}]
agents: {heartbeatInterval: 0.2, suspectAfter: 3, deadAfter: 30, metricsInterval: 0}
`;

let server: GridqServer;
let client: GridqClient;
const agents: AgentProcess[] = [];

before(async () => {
  server = await startGridq({ config: CONFIG });
  const token = JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token as string;
  client = new GridqClient({ url: server.url, credentials: { token } });
});
after(async () => {
  for (const a of agents) await a.stop("SIGKILL");
  await server?.stop();
});

const connected = async (node: string) =>
  (await client.listAgents("local")).items.find((n) => n.node === node)!.connected;
const exited = (a: AgentProcess) => a.proc.exitCode !== null || a.proc.signalCode !== null;

test("a new credential disconnects the agent holding the old one, and only that node's", async () => {
  const old = await nodeTokenFile(server, "n1");
  const first = startAgent(server.url, "n1", { tokenFile: old });
  const other = startAgent(server.url, "n2", { tokenFile: await nodeTokenFile(server, "n2") });
  agents.push(first, other);
  await eventually(async () => (await connected("n1")) && (await connected("n2")), 20_000, "both agents");

  const fresh = await nodeTokenFile(server, "n1");
  await eventually(async () => !(await connected("n1")), 10_000, "n1's old agent to be disconnected");
  await eventually(async () => exited(first), 10_000, "the old agent to stop").catch((e) => {
    throw new Error(`${e.message}: ${first.log()}`);
  });
  assert.match(first.log(), /credential was replaced/);
  assert.equal(await connected("n2"), true, "n2 keeps its agent");
  assert.equal(exited(other), false);

  // The old credential does not get back in; the new one does.
  const again = startAgent(server.url, "n1", { tokenFile: old });
  agents.push(again);
  await eventually(async () => exited(again), 20_000, "the old credential to be refused");
  const next = startAgent(server.url, "n1", { tokenFile: fresh });
  agents.push(next);
  await eventually(async () => connected("n1"), 20_000, "the agent with the new credential");
});
