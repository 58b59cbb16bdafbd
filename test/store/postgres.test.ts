// Runs the store conformance suite and the multi-process store tests on the PostgreSQL engine,
// each test in a database of its own on the test run's server.

import type { Store } from "../../src/store/contract.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { testDatabase } from "../helpers/test-postgres.ts";
import { type OpenedStore, runStoreConformance } from "./conformance.ts";
import { type FreshDatabase, runCrossedUpdatesTest, runProcessTests } from "./process-tests.ts";

const keepAlways = Boolean(process.env.GRIDQ_KEEP_TEST_DATA);

async function freshPostgres(): Promise<FreshDatabase> {
  const db = await testDatabase();
  return {
    spec: db.url,
    async cleanup({ failed }) {
      // The URL holds the test server's password: print where, not how.
      if (failed || keepAlways)
        console.error(`# store data kept in ${new URL(db.url).searchParams.get("options")}`);
      else await db.drop();
    },
  };
}

async function openPostgres(): Promise<OpenedStore> {
  const db = await freshPostgres();
  const opened: Store[] = [];
  const openOne = async (): Promise<Store> => {
    const s = new PostgresStore(db.spec, { poolSize: 4 });
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

runStoreConformance("postgres", openPostgres);
runProcessTests("postgres", freshPostgres);
runCrossedUpdatesTest("postgres", freshPostgres);
