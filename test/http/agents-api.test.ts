// The agents' HTTP surface with inject(): node credentials, liveness, metrics, exec and the
// WebSocket route answer bad input with a clear 4xx.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import { type Assembled, assemble } from "../../src/server/main.ts";
import { createUser } from "../../src/services/auth.ts";
import { tempDir } from "../helpers/gridq-process.ts";

let a: Assembled;
let admin: Record<string, string>;
let user: Record<string, string>;

before(async () => {
  const config = resolveConfig({
    env: {},
    overrides: { home: tempDir(), "site.nodes": [{ name: "n1", cores: 1 }] },
  });
  a = await assemble(config, { logger: false });
  const { auth, deps } = a.services;
  // Tokens are honoured only for users that exist (the role is read from the store).
  await createUser(deps, "root", "root-password", "admin");
  await createUser(deps, "alice", "alice-password", "user");
  admin = { authorization: `Bearer ${(await auth.issueToken({ name: "root", admin: true })).token}` };
  user = { authorization: `Bearer ${(await auth.issueToken({ name: "alice", admin: false })).token}` };
});
after(() => a.close());

const inject = (o: {
  method?: "GET" | "POST";
  url: string;
  headers?: Record<string, string>;
  payload?: object;
}) => a.app.inject(o);

test("only admins issue node credentials, for nodes of the site; a new one replaces the old", async () => {
  assert.equal(
    (await inject({ method: "POST", url: "/3.0/sites/local/agents/n1/credential", headers: user }))
      .statusCode,
    403,
  );
  const unknown = await inject({
    method: "POST",
    url: "/3.0/sites/local/agents/zz/credential",
    headers: admin,
  });
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().message, /no node 'zz'/);
  const bad = await inject({
    method: "POST",
    url: "/3.0/sites/local/agents/a%20b/credential",
    headers: admin,
  });
  assert.equal(bad.statusCode, 400);
  const first = await inject({
    method: "POST",
    url: "/3.0/sites/local/agents/n1/credential",
    headers: admin,
  });
  assert.equal(first.statusCode, 201);
  assert.equal(first.headers["cache-control"], "no-store");
  const token = first.json().token as string;
  assert.match(token, /^gqn_/);
  const connect = (t: string) =>
    inject({ url: "/3.0/sites/local/agents/connect?node=n1", headers: { authorization: `Bearer ${t}` } });
  // A plain GET with the right credential: told to upgrade; with a wrong one: 401.
  assert.equal((await connect(token)).statusCode, 400);
  await inject({ method: "POST", url: "/3.0/sites/local/agents/n1/credential", headers: admin });
  assert.equal((await connect(token)).statusCode, 401, "the old credential is revoked");
  assert.equal(
    (await connect(admin.authorization!.slice(7))).statusCode,
    401,
    "a user token is no node credential",
  );
  const noNode = await inject({ url: "/3.0/sites/local/agents/connect", headers: admin });
  assert.equal(noNode.statusCode, 400);
});

test("liveness and metrics: unknown sites 404, bad times 400", async () => {
  const list = await inject({ url: "/3.0/sites/local/agents", headers: user });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(
    list.json().items.map((n: { node: string; connected: boolean }) => [n.node, n.connected]),
    [["n1", false]],
  );
  assert.equal((await inject({ url: "/3.0/sites/nowhere/agents", headers: user })).statusCode, 404);
  assert.deepEqual((await inject({ url: "/3.0/sites/local/metrics", headers: user })).json(), []);
  for (const qs of ["start_time=x", "start_time=100&end_time=50", "nodes=n1&bogus=1"]) {
    const r = await inject({ url: `/3.0/sites/local/metrics?${qs}`, headers: user });
    assert.equal(r.statusCode, 400, qs);
  }
});

test("exec: bad bodies 400, unknown jobs 404; a waiting job 409", async () => {
  const bad = await inject({
    method: "POST",
    url: "/3.0/sites/local/jobs/1/exec",
    headers: admin,
    payload: { node: 3 },
  });
  assert.equal(bad.statusCode, 400);
  const none = await inject({
    method: "POST",
    url: "/3.0/sites/local/jobs/999/exec",
    headers: admin,
    payload: { node: "n1", command: "true" },
  });
  assert.equal(none.statusCode, 404);
  const job = await inject({
    method: "POST",
    url: "/3.0/sites/local/jobs",
    headers: admin,
    payload: { command: "true", directory: "/tmp" },
  });
  const waiting = await inject({
    method: "POST",
    url: `/3.0/sites/local/jobs/${job.json().uid}/exec`,
    headers: admin,
    payload: { node: "n1", command: "true" },
  });
  assert.equal(waiting.statusCode, 409);
  assert.match(waiting.json().message, /exec needs a running job/);
});

test("Prometheus metrics are public text", async () => {
  const r = await inject({ url: "/metrics" });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers["content-type"] as string, /^text\/plain; version=0.0.4/);
  assert.match(r.body, /^gridq_nodes\{state="alive"\} \d+$/m);
});
