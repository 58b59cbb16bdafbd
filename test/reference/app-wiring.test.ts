// The reference routes inside the real app (buildApp): auth plugin, error handler, jobs routes beside.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { resolveConfig } from "../../src/config/config.ts";
import { createLocalReference } from "../../src/reference/local-reference.ts";
import { ReferenceReader } from "../../src/reference/reference-reader.ts";
import { buildApp } from "../../src/server/build-app.ts";
import { Authenticator, createUser } from "../../src/services/auth.ts";
import { type ServiceDeps, systemClock } from "../../src/services/context.ts";
import { createControlPlane } from "../../src/services/control-plane.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";

const root = mkdtempSync(join(tmpdir(), "gridq-refapp-"));
let store: SqliteStore;
let reader: ReferenceReader;
const apps: FastifyInstance[] = [];
const NODE = "/3.0/sites/local/clusters/local/nodes/box";
const BASIC = `Basic ${Buffer.from("alice:correct-horse-battery").toString("base64")}`;

async function app(publicReads: boolean): Promise<FastifyInstance> {
  const config = resolveConfig({ env: {}, overrides: { home: join(root, "home") } });
  const deps: ServiceDeps = {
    store,
    clock: systemClock,
    config,
    nodes: { sites: () => [], nodes: () => [] },
    log: { info() {}, warn() {}, error() {}, debug() {} } as unknown as ServiceDeps["log"],
  };
  const auth = new Authenticator(deps, new Uint8Array(32).fill(7));
  if (!(await store.getUser("alice"))) await createUser(deps, "alice", "correct-horse-battery", "user");
  const { hub, inbox, controller } = createControlPlane(deps);
  const a = await buildApp({
    services: { deps, auth, hub, port: hub, inbox, controller },
    logger: false,
    version: "test",
    reference: { reference: reader, publicReads },
  });
  await a.ready();
  apps.push(a);
  return a;
}

before(async () => {
  store = new SqliteStore(join(root, "gridq.db"));
  await store.migrate();
  const made = createLocalReference(join(root, "reference"), {
    hostname: "box",
    cores: 4,
    memoryBytes: 2 ** 33,
    cpuModel: "Test CPU",
    platform: "x86_64",
  });
  reader = new ReferenceReader(made.dir);
});

after(async () => {
  for (const a of apps) await a.close();
  await reader?.close();
  await store?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("inside buildApp", () => {
  test("public reads: no credentials needed; errors use the app's error body", async () => {
    const a = await app(true);
    const r = await a.inject({ url: NODE });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().architecture.nb_cores, 4);
    assert.equal((await a.inject({ url: "/stable/sites/local" })).statusCode, 200);
    const missing = await a.inject({ url: "/3.0/sites/nowhere" });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, "GRIDQ_NOT_FOUND");
    assert.equal(missing.json().message, "Cannot find resource /sites/nowhere");
    const commit = await a.inject({ url: "/3.0/sites?version=abcdef1" });
    assert.equal(commit.json().code, "GRIDQ_UNKNOWN_COMMIT");
    const notAcceptable = await a.inject({ url: NODE, headers: { accept: "text/html" } });
    assert.equal(notAcceptable.statusCode, 406);
    assert.equal(notAcceptable.json().code, "GRIDQ_NOT_ACCEPTABLE");
    const post = await a.inject({ url: NODE, method: "POST", payload: {} });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
    // The entry point stays the app's own; the jobs routes still win over the reference wildcard.
    assert.equal((await a.inject({ url: "/" })).statusCode, 200);
    const jobs = await a.inject({ url: "/3.0/sites/local/jobs" });
    assert.equal(jobs.statusCode, 401, "jobs stay private");
    // The OpenAPI document still builds, with the reference described once (GET under /3.0).
    const doc = (
      a as unknown as { swagger: () => { paths: Record<string, Record<string, unknown>> } }
    ).swagger();
    const refPaths = Object.entries(doc.paths).filter(([p]) => p.startsWith("/3.0/*") || p === "/3.0");
    assert.ok(refPaths.length > 0);
    for (const [, ops] of refPaths)
      assert.deepEqual(
        Object.keys(ops).sort(),
        ["get", "head"].filter((m) => m in ops),
      );
  });

  test("publicReads false: 401 without credentials, 200 with them", async () => {
    const a = await app(false);
    const anonymous = await a.inject({ url: NODE });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().code, "GRIDQ_UNAUTHENTICATED");
    const r = await a.inject({ url: NODE, headers: { authorization: BASIC } });
    assert.equal(r.statusCode, 200);
  });
});
