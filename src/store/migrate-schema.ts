// The one migration runner: numbered steps of per-engine SQL, applied under the engine's lock.

import { type Kysely, sql } from "kysely";

/** An engine's schema history: step N (1-based) brings the schema from version N-1 to N. */
export interface SchemaHistory {
  /** Statements of each step, in order; the step's index + 1 is its version. */
  steps: readonly (readonly string[])[];
  /**
   * Opens the migration transaction holding the engine's migration lock, so that two servers
   * starting together never run a step twice: SQLite's `BEGIN IMMEDIATE` (the write lock),
   * PostgreSQL's `BEGIN` then a transaction-scoped advisory lock.
   */
  begin: readonly string[];
}

/** The database was upgraded by a newer gridq: this one must not write to it. */
export class SchemaTooNewError extends Error {}

// biome-ignore lint/suspicious/noExplicitAny: the runner reads and writes only `meta`, in raw SQL.
type AnyDb = Kysely<any>;

/** The schema version recorded in `meta` (0: an empty database). */
async function readVersion(db: AnyDb): Promise<number> {
  const r = await sql<{ value: string }>`SELECT value FROM meta WHERE key = 'schema_version'`.execute(db);
  return r.rows[0] ? Number(r.rows[0].value) : 0;
}

/**
 * Brings the database to the latest version of `history`, every missing step in one
 * transaction (both engines have transactional DDL: a failed step leaves nothing half done).
 * Refuses a database whose version is newer than the steps known here.
 */
export async function migrateSchema(db: AnyDb, history: SchemaHistory, engine: string): Promise<void> {
  const latest = history.steps.length;
  await db.connection().execute(async (c) => {
    for (const stmt of history.begin) await sql.raw(stmt).execute(c);
    try {
      await sql`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`.execute(c);
      // Read again under the lock: another server may have migrated while we waited for it.
      const version = await readVersion(c);
      if (version > latest) {
        throw new SchemaTooNewError(
          `the ${engine} database's schema is version ${version}, newer than this gridq knows (${latest}): ` +
            "it was upgraded by a newer gridq; run that version, or a backup of the database from before",
        );
      }
      for (let v = version; v < latest; v++) {
        for (const stmt of history.steps[v]!) await sql.raw(stmt).execute(c);
      }
      if (version < latest) {
        await sql`INSERT INTO meta (key, value) VALUES ('schema_version', ${String(latest)})
          ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(c);
      }
      await sql`COMMIT`.execute(c);
    } catch (e) {
      // The first error is the one to tell (a lost connection fails the rollback too).
      await sql`ROLLBACK`.execute(c).catch(() => {});
      throw e;
    }
  });
}
