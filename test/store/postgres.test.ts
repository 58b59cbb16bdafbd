// Runs the store conformance suite and the multi-process store tests on the PostgreSQL engine,
// each test in a database of its own on the test run's server.

import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { testDatabase } from "../helpers/test-postgres.ts";
import { type FreshDatabase, runStoreConformance, storeOn } from "./conformance.ts";
import { runCrossedUpdatesTest, runProcessTests } from "./process-tests.ts";

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

runStoreConformance("postgres", async () =>
  storeOn(await freshPostgres(), (url) => new PostgresStore(url, { poolSize: 4 })),
);
runProcessTests("postgres", freshPostgres);
runCrossedUpdatesTest("postgres", freshPostgres);
