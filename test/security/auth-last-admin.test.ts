// The last enabled admin is kept atomically: two admins disabling (or deleting) each other at
// once, through two stores on one SQLite file as two servers would, leave one enabled admin.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import { GridqError } from "../../src/domain/errors.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import { Authenticator, createUser } from "../../src/services/auth.ts";
import { type ServiceDeps, systemClock } from "../../src/services/context.ts";
import { deleteUser, setUserDisabled } from "../../src/services/users.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/gridq-process.ts";

const home = tempDir("gridq-last-admin-");
const stores = [new SqliteStore(join(home, "gridq.db")), new SqliteStore(join(home, "gridq.db"))];
after(() => {
  for (const s of stores) s.close();
});
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

async function enabledAdmins(): Promise<string[]> {
  return (await stores[0]!.listUsers()).filter((u) => u.role === "admin" && !u.disabled).map((u) => u.name);
}

function outcome(results: PromiseSettledResult<unknown>[]): string[] {
  return results.map((r) =>
    r.status === "fulfilled" ? "ok" : r.reason instanceof GridqError ? r.reason.code : String(r.reason),
  );
}

test("two admins disabling each other at once: one succeeds, the other is refused", async () => {
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
    const left = await enabledAdmins();
    assert.equal(left.length, 1, `round ${round}: enabled admins ${left}`);
    // Clear the round: the survivor is the last admin, so it cannot go; remove the other, then it.
    await stores[0]!.deleteUser(left[0] === a ? b : a);
    await assert.rejects(
      deleteUser(one.deps, one.auth, { name: left[0]!, admin: true }, left[0]!),
      (e: GridqError) => e.code === "GRIDQ_CONFLICT",
    );
    await stores[0]!.deleteUser(left[0]!);
  }
});
