// The last enabled admin is kept atomically: two admins disabling (or deleting) each other at
// once, through two stores on one database as two servers would (SQLite and PostgreSQL), leave
// one enabled admin.

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import { GridqError } from "../../src/domain/errors.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import { Authenticator, createUser } from "../../src/services/auth.ts";
import { type ServiceDeps, systemClock } from "../../src/services/context.ts";
import { deleteUser, setUserDisabled } from "../../src/services/users.ts";
import type { Store } from "../../src/store/contract.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/gridq-process.ts";
import { testDatabase } from "../helpers/test-postgres.ts";

async function enabledAdmins(store: Store): Promise<string[]> {
  return (await store.listUsers()).filter((u) => u.role === "admin" && !u.disabled).map((u) => u.name);
}

function outcome(results: PromiseSettledResult<unknown>[]): string[] {
  return results.map((r) =>
    r.status === "fulfilled" ? "ok" : r.reason instanceof GridqError ? r.reason.code : String(r.reason),
  );
}

async function race(stores: Store[], home: string): Promise<void> {
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const servers = stores.map((store) => {
    const deps: ServiceDeps = {
      store,
      clock: systemClock,
      config: resolveConfig({ env: {}, overrides: { home } }),
      nodes: staticNodeDirectory([]),
      log: silent,
    };
    return { deps, auth: new Authenticator(deps, new Uint8Array(32).fill(1)) };
  });
  const [one, two] = servers as [(typeof servers)[0], (typeof servers)[0]];
  await stores[0]!.migrate();
  for (let round = 0; round < 20; round++) {
    const a = `a${round}`;
    const b = `b${round}`;
    await createUser(one.deps, a, "a-long-password-1", "admin");
    await createUser(one.deps, b, "a-long-password-2", "admin");
    // The admins of earlier rounds are gone: a and b are the only enabled ones.
    const results = await Promise.allSettled([
      setUserDisabled(one.deps, one.auth, { name: a, admin: true }, b, true),
      round % 2 === 0
        ? setUserDisabled(two.deps, two.auth, { name: b, admin: true }, a, true)
        : deleteUser(two.deps, two.auth, { name: b, admin: true }, a),
    ]);
    assert.deepEqual(outcome(results).sort(), ["GRIDQ_CONFLICT", "ok"], `round ${round}`);
    const left = await enabledAdmins(stores[0]!);
    assert.equal(left.length, 1, `round ${round}: enabled admins ${left}`);
    // Clear the round: the survivor is the last admin, so it cannot go; remove the other, then it.
    await stores[0]!.deleteUser(left[0] === a ? b : a);
    await assert.rejects(
      deleteUser(one.deps, one.auth, { name: left[0]!, admin: true }, left[0]!),
      (e: GridqError) => e.code === "GRIDQ_CONFLICT",
    );
    await stores[0]!.deleteUser(left[0]!);
  }
}

test("SQLite: two admins disabling each other at once: one succeeds, the other is refused", async () => {
  const home = tempDir("gridq-last-admin-");
  const stores = [new SqliteStore(join(home, "gridq.db")), new SqliteStore(join(home, "gridq.db"))];
  try {
    await race(stores, home);
  } finally {
    for (const s of stores) await s.close();
  }
});

test("PostgreSQL: two admins disabling each other at once: one succeeds, the other is refused", async () => {
  const db = await testDatabase();
  const stores = [new PostgresStore(db.url), new PostgresStore(db.url)];
  try {
    await race(stores, tempDir("gridq-last-admin-pg-"));
  } finally {
    for (const s of stores) await s.close();
  }
  await db.drop();
});
