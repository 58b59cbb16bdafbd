// Connections: users holding every connection the server allows (long `?follow=true` streams,
// idle sockets) do not keep a node's agent from reconnecting; the agents have a budget of their
// own, and a connection taken over the users' cap serves nothing but an agent's upgrade.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type AgentProcess, nodeTokenFile, startAgent } from "../helpers/agent-process.ts";
import { eventually, type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { bearer, call } from "./helpers/http-client.ts";

const TOTAL = 4;
const CONFIG = `
site:
  name: local
  nodes: [{name: n1, cores: 1}]
agents: {heartbeatInterval: 0.2, suspectAfter: 3, deadAfter: 30, metricsInterval: 0}
server: {maxConnections: ${TOTAL}, maxConnectionsPerClient: 100, headersTimeout: 120, requestTimeout: 120}
`;

let server: GridqServer;
let tokenFile: string;
const agents: AgentProcess[] = [];
const held: Socket[] = [];

before(async () => {
  server = await startGridq({ config: CONFIG });
  tokenFile = await nodeTokenFile(server, "n1");
});
after(async () => {
  for (const s of held) s.destroy();
  for (const a of agents) await a.stop("SIGKILL");
  await server?.stop();
});

/** An idle connection from `from`, as a user holding a slot (a stream that never ends). */
function hold(from: string): Promise<Socket> {
  const { hostname, port } = new URL(server.url);
  return new Promise((res, rej) => {
    const s = connect({ host: hostname, port: Number(port), localAddress: from });
    s.once("connect", () => {
      s.on("error", () => {});
      held.push(s);
      res(s);
    });
    s.once("error", rej);
  });
}

test("an agent reconnects while users hold every connection; users over the cap get 503", async () => {
  const token = JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token as string;
  // The test's own window on the server: one keep-alive connection, opened before the cap is full.
  const watcher = new Agent({ keepAlive: true, maxSockets: 1, localAddress: "127.0.0.4" });
  const connected = async () => {
    const r = await call(server.url, "GET", "/3.0/sites/local/agents", {
      auth: bearer(token),
      agent: watcher,
    });
    assert.equal(r.status, 200, r.text);
    return (r.body.items as { node: string; connected: boolean }[]).find((n) => n.node === "n1")!.connected;
  };
  agents.push(startAgent(server.url, "n1", { tokenFile }));
  await eventually(connected, 20_000, "the agent to connect");
  // A user takes every other connection of the users' budget (the agent's is not in it).
  for (let i = 0; i < TOTAL - 1; i++) await hold("127.0.0.2");
  const user = await call(server.url, "GET", "/3.0/", { from: "127.0.0.3" });
  assert.equal(user.status, 503, user.text);
  assert.equal(user.body.code, "GRIDQ_TOO_MANY_CONNECTIONS");
  // The node's agent restarts (a crash, a network cut): it gets back in while the cap is full.
  await agents[0]!.stop("SIGKILL");
  await eventually(async () => !(await connected()), 10_000, "the server to see the agent go");
  // Users take whatever the agent's going freed (a stream opened at that moment).
  await hold("127.0.0.2");
  agents.push(startAgent(server.url, "n1", { tokenFile }));
  await eventually(connected, 20_000, "the restarted agent to reconnect").catch((e) => {
    throw new Error(`${e.message}; agent: ${agents[1]!.log()}`);
  });
  assert.doesNotMatch(agents[1]!.log(), /reconnecting/, "connected at the first try");
  watcher.destroy();
});
