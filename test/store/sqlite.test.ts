// Runs the store conformance suite and the multi-process store tests on the SQLite engine.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../../src/store/contract.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { type OpenedStore, runStoreConformance } from "./conformance.ts";
import { type FreshDatabase, runCrossedUpdatesTest, runProcessTests } from "./process-tests.ts";

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

async function openSqlite(): Promise<OpenedStore> {
  const db = await freshSqlite();
  const opened: Store[] = [];
  const openOne = async (): Promise<Store> => {
    const s = new SqliteStore(db.spec);
    opened.push(s);
    return s;
  };
  const store = await openOne();
  await store.migrate();
  return {
    store,
    openSecond: openOne,
    async cleanup(outcome) {
      for (const s of opened) await s.close();
      await db.cleanup(outcome);
    },
  };
}

runStoreConformance("sqlite", openSqlite);
runProcessTests("sqlite", freshSqlite);
runCrossedUpdatesTest("sqlite", freshSqlite);
