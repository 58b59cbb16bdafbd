// Test helper: the PostgreSQL server of this test run (GRIDQ_TEST_PG_URL, started once by
// scripts/test.ts), or, for a test file run alone, one started for this file and stopped after.

import { after } from "node:test";
import { createSchema, type PostgresServer, startPostgres } from "./postgres-server.ts";

let own: Promise<PostgresServer> | null = null;

// Registered at load, at the file's top level (a hook registered inside a test would run when
// that test ends): stop the server this file started, if any.
after(async () => {
  if (own) await (await own).stop();
});

/** The superuser URL of a running server; each test creates its own database on it. */
export async function testPostgresUrl(): Promise<string> {
  const given = process.env.GRIDQ_TEST_PG_URL;
  if (given) return given;
  if (!own) {
    own = startPostgres();
  }
  return (await own).url;
}

/**
 * A fresh, empty database of its own for one test (a schema of the server's database, which its
 * URL selects); `drop` removes it (keep it when the test failed).
 */
export async function testDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  return createSchema(await testPostgresUrl());
}
