// An agent from before per-account jobs (protocol 2: jobs as `nobody`, `createDirectory`
// ignored) is refused by the server, so no job silently runs with the wrong rights.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { AGENT_PROTOCOL_VERSION } from "../../src/protocol/agent-messages.ts";
import { GridqClient } from "../../src/sdk/client.ts";
import { type GridqServer, startGridq } from "../helpers/gridq-process.ts";

describe("agent protocol version", () => {
  let server: GridqServer;
  let admin: GridqClient;

  before(async () => {
    server = await startGridq({ config: "site: {name: local, nodes: [{name: r1, cores: 1}]}\n" });
    const token = JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token;
    admin = new GridqClient({ url: server.url, credentials: { token } });
  });
  after(() => server?.stop());

  test("is 3: agents that run jobs as their submitters and honour createDirectory", () => {
    assert.equal(AGENT_PROTOCOL_VERSION, 3);
  });

  test("an agent of version 2 is refused, saying why", async () => {
    const { token } = await admin.issueNodeCredential("local", "r1");
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/3.0/sites/local/agents/connect?node=r1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise((r) => ws.once("open", r));
    const reply = new Promise<{ type: string; reason?: string }>((r) =>
      ws.once("message", (d) => r(JSON.parse(String(d)))),
    );
    ws.send(JSON.stringify({ type: "hello", version: 2, node: "r1", running: [] }));
    const m = await reply;
    assert.equal(m.type, "reject");
    assert.match(m.reason ?? "", /agent protocol version 2 is not supported \(the server speaks 3\)/);
    await new Promise((r) => ws.once("close", r));
    assert.equal((await admin.listAgents("local")).items.find((a) => a.node === "r1")?.connected, false);
  });
});
