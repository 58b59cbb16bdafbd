// Runs the store conformance suite and the multi-process store tests on the SQLite engine.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { type FreshDatabase, runStoreConformance, storeOn } from "./conformance.ts";
import { runCrossedUpdatesTest, runProcessTests } from "./process-tests.ts";

const keepAlways = Boolean(process.env.GRIDQ_KEEP_TEST_DATA);

/** A database file (not created yet) in a temp folder of its own. */
async function freshSqlite(): Promise<FreshDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "gridq-store-"));
  return {
    spec: join(dir, "gridq.db"),
    async cleanup({ failed }) {
      if (failed || keepAlways) console.error(`# store data kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

runStoreConformance("sqlite", async () => storeOn(await freshSqlite(), (path) => new SqliteStore(path)));
runProcessTests("sqlite", freshSqlite);
runCrossedUpdatesTest("sqlite", freshSqlite);
