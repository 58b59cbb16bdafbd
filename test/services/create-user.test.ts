// Creating users through the service on a real SQLite store: two creations of one name at once
// give one user and one GRIDQ_USER_EXISTS (the fuzz run once saw a 500 there).

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import { GridqError } from "../../src/domain/errors.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import { createUser } from "../../src/services/auth.ts";
import { type ServiceDeps, systemClock } from "../../src/services/context.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/gridq-process.ts";

const home = tempDir("gridq-create-user-");
const store = new SqliteStore(join(home, "gridq.db"));
after(() => store.close());

test("two creations of one name at once: one user, one GRIDQ_USER_EXISTS, no server error", async () => {
  await store.migrate();
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const deps: ServiceDeps = {
    store,
    clock: systemClock,
    config: resolveConfig({ env: {}, overrides: { home } }),
    nodes: staticNodeDirectory([]),
    log: silent,
  };
  const results = await Promise.allSettled([
    createUser(deps, "carol", "a-long-password-1", "user"),
    createUser(deps, "carol", "a-long-password-2", "user"),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert.ok(refused.reason instanceof GridqError, String(refused.reason));
  assert.equal(refused.reason.code, "GRIDQ_USER_EXISTS");
  assert.equal((await store.listUsers()).filter((u) => u.name === "carol").length, 1);
});
