// Test helper: the PostgreSQL server of this test run (GRIDQ_TEST_PG_URL, started once by
// scripts/test.ts), or, for a test file run alone, one started for this file and stopped after.

import { after } from "node:test";
import { createSchema, type PostgresServer, startPostgres } from "./postgres-server.ts";

let own: Promise<PostgresServer> | null = null;

let stopping: Promise<void> | null = null;
const stopOwn = (): Promise<void> => {
  stopping ??= own ? own.then((s) => s.stop()) : Promise.resolve();
  return stopping;
};
// Stopped once everything else is done: after every test and every `after` hook of the file
// (those may still drop their databases), when nothing else keeps the process alive...
process.once("beforeExit", () => void stopOwn());
// ...or, if something leaked (a pool left open), 10 s after this file's tests: stopping the
// server closes the leaked connections, so the file still ends.
after(() => {
  setTimeout(() => void stopOwn(), 10_000).unref();
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
