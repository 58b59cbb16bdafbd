// Runs the store conformance suite and the multi-process store tests on the SQLite engine.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
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

test("sqlite store: migration 5 moves node credentials out of meta into their own table", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gridq-store-"));
  const path = join(dir, "gridq.db");
  try {
    // A database at schema 4 holding credentials the old way.
    const { DatabaseSync } = await import("node:sqlite");
    const old = new DatabaseSync(path);
    old.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    old.close();
    const s3 = new SqliteStore(path);
    await s3.migrate();
    await s3.close();
    const raw = new DatabaseSync(path);
    raw.exec(`DROP TABLE node_credentials; DROP TABLE node_heard; DROP TABLE site_leaders; DROP TABLE agent_connections; DROP INDEX jobs_stopped;
      UPDATE meta SET value = '4' WHERE key = 'schema_version';
      INSERT INTO meta VALUES ('node-credential:rennes:paravance-1.rennes.grid5000.fr', 'ab12');
      INSERT INTO meta VALUES ('node-credential:local:box', 'cd34');`);
    raw.close();
    const s = new SqliteStore(path);
    await s.migrate();
    assert.equal(await s.getNodeCredential("rennes", "paravance-1.rennes.grid5000.fr"), "ab12");
    assert.equal(await s.getNodeCredential("local", "box"), "cd34");
    assert.equal(await s.getMeta("node-credential:local:box"), undefined, "no copy left in meta");
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
