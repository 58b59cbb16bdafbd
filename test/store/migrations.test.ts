// Schema upgrades on both engines: a database made at version 1, with data, reaches the latest
// version without loss; several servers migrating one empty database at once agree.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Store } from "../../src/store/contract.ts";
import { migrateSchema, type SchemaHistory } from "../../src/store/migrate-schema.ts";
import { PG_SCHEMA } from "../../src/store/postgres/pg-migrations.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { NodeSqliteDatabase, nodeSqliteDialect } from "../../src/store/sqlite/node-sqlite-dialect.ts";
import { SQLITE_SCHEMA, SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { testDatabase } from "../helpers/test-postgres.ts";
import { runConcurrentMigrationTest } from "./process-tests.ts";

// biome-ignore lint/suspicious/noExplicitAny: raw SQL on a schema older than the typed one.
type AnyDb = Kysely<any>;

interface Engine {
  name: string;
  history: SchemaHistory;
  /** A fresh database: a raw Kysely on it, a store on it, and cleanup. */
  fresh(): Promise<{ raw: () => AnyDb; store: () => Store; cleanup(): Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: "sqlite",
    history: SQLITE_SCHEMA,
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), "gridq-migrate-"));
      const path = join(dir, "gridq.db");
      return {
        raw: () => new Kysely({ dialect: nodeSqliteDialect(new NodeSqliteDatabase(path)) }),
        store: () => new SqliteStore(path),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: "postgres",
    history: PG_SCHEMA,
    async fresh() {
      const db = await testDatabase();
      return {
        raw: () =>
          new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url }) }) }),
        store: () => new PostgresStore(db.url),
        cleanup: () => db.drop(),
      };
    },
  },
];

for (const e of engines) {
  test(`${e.name}: a version-1 database with jobs, events, users and meta upgrades without loss`, async () => {
    const db = await e.fresh();
    const raw = db.raw();
    await migrateSchema(raw, { ...e.history, steps: e.history.steps.slice(0, 1) }, e.name);
    // Rows as gridq wrote them at version 1 (no pending reason, dependencies, arrays...).
    await sql`INSERT INTO jobs (site, "user", state, queue, name, project, command, resources,
      properties, types, walltime, directory, stdout, stderr, env, submitted_at, started_at,
      lease_id, assigned_nodes, cancel_requested)
      VALUES ('local', 'alice', 'running', 'default', 'old', NULL, 'sleep 9', 'nodes=1', NULL,
      '["besteffort"]', 600, '/home/alice', 'o', 'e', '{"A":"1"}', 1700000000.5, 1700000001.25,
      'L1', '[{"node":"n1","cores":2}]', 0)`.execute(raw);
    await sql`INSERT INTO job_events (job_id, created_at, type, description)
      VALUES (1, 1700000000.5, 'SUBMIT', 'submitted')`.execute(raw);
    await sql`INSERT INTO users (name, role, password_hash, created_at)
      VALUES ('alice', 'admin', 'h', 1700000000)`.execute(raw);
    await sql`INSERT INTO meta (key, value) VALUES ('first.start', 'x')`.execute(raw);
    await raw.destroy();

    const store = db.store();
    try {
      await store.migrate();
      assert.equal(await store.getMeta("schema_version"), String(e.history.steps.length));
      const j = await store.getJob(1);
      assert.deepEqual(
        {
          name: j?.name,
          state: j?.state,
          types: j?.types,
          env: j?.env,
          startedAt: j?.startedAt,
          leaseId: j?.leaseId,
          nodes: j?.assignedNodes,
          pendingReason: j?.pendingReason,
          dependencies: j?.dependencies,
          reservationAt: j?.reservationAt,
          arrayId: j?.arrayId,
        },
        {
          name: "old",
          state: "running",
          types: ["besteffort"],
          env: { A: "1" },
          startedAt: 1700000001.25,
          leaseId: "L1",
          nodes: [{ node: "n1", cores: 2 }],
          pendingReason: null,
          dependencies: [],
          reservationAt: null,
          arrayId: null,
        },
      );
      assert.deepEqual(
        (await store.listEvents([1])).get(1)?.map((x) => x.type),
        ["SUBMIT"],
      );
      assert.equal((await store.getUser("alice"))?.role, "admin");
      assert.equal(await store.getMeta("first.start"), "x");
      // New rows take ids after the old ones.
      assert.equal(
        (
          await store.insertJob(
            { ...j!, hold: false, arrayOf: null, submittedAt: 1 },
            { at: 1, description: "submitted" },
          )
        ).id,
        2,
      );
    } finally {
      await store.close();
      await db.cleanup();
    }
  });
}

runConcurrentMigrationTest(
  "sqlite",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "gridq-migrate-"));
    return {
      spec: join(dir, "gridq.db"),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  SQLITE_SCHEMA.steps.length,
);

runConcurrentMigrationTest(
  "postgres",
  async () => {
    const db = await testDatabase();
    return { spec: db.url, cleanup: () => db.drop() };
  },
  PG_SCHEMA.steps.length,
);

test("both engines know the same schema versions", () => {
  assert.equal(SQLITE_SCHEMA.steps.length, PG_SCHEMA.steps.length);
});
