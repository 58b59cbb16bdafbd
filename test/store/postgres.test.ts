// Runs the store conformance suite on the PostgreSQL engine, each test in a database of its own.

import { test } from "node:test";
import type { Store } from "../../src/store/contract.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { testDatabase } from "../helpers/test-postgres.ts";
import { type OpenedStore, runStoreConformance } from "./conformance.ts";

const keepAlways = Boolean(process.env.GRIDQ_KEEP_TEST_DATA);

async function openPostgres(): Promise<OpenedStore> {
  const db = await testDatabase();
  const opened: Store[] = [];
  const openOne = async (): Promise<Store> => {
    const s = new PostgresStore(db.url, { poolSize: 4 });
    opened.push(s);
    return s;
  };
  const store = await openOne();
  await store.migrate();
  return {
    store,
    openSecond: openOne,
    async cleanup({ failed }) {
      for (const s of opened) await s.close();
      if (failed || keepAlways) console.error(`# store data kept in ${db.url.replace(/:[^:@/]*@/, ":***@")}`);
      else await db.drop();
    },
  };
}

runStoreConformance("postgres", openPostgres);
