// Opens the engine the configuration names: SQLite by default, PostgreSQL when db.url is set.

import type { GridqConfig } from "../config/config.ts";
import type { Store } from "./contract.ts";
import { PostgresStore } from "./postgres/postgres-store.ts";
import { SqliteStore } from "./sqlite/sqlite-store.ts";

/** A store on the configured database, not yet migrated. */
export function openStore(db: GridqConfig["db"], opts: { onError?: (e: Error) => void } = {}): Store {
  return db.engine === "postgres" && db.url
    ? new PostgresStore(db.url, { poolSize: db.poolSize, ...(opts.onError ? { onError: opts.onError } : {}) })
    : new SqliteStore(db.path);
}
