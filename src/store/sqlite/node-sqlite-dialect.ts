// Kysely's SQLite dialect over Node's built-in node:sqlite, with a prepared-statement cache.
// This is the one file that knows the driver: swapping the binding touches only it.

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type SqliteDatabase, SqliteDialect, type SqliteStatement } from "kysely";

type SqlValue = null | number | bigint | string | Uint8Array;

class CachedStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;
  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.reader = stmt.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#stmt.all(...(parameters as SqlValue[]));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#stmt.run(...(parameters as SqlValue[]));
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#stmt.iterate(...(parameters as SqlValue[])) as IterableIterator<unknown>;
  }
}

/** Adapts DatabaseSync to the structural interface Kysely's SqliteDialect expects. */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  readonly #cache = new Map<string, CachedStatement>();
  constructor(path: string) {
    this.raw = new DatabaseSync(path, { timeout: 5000 });
  }
  prepare(sql: string): SqliteStatement {
    let s = this.#cache.get(sql);
    if (!s) {
      s = new CachedStatement(this.raw.prepare(sql));
      // Bounded: queries with IN lists of varying length would otherwise grow it forever.
      if (this.#cache.size > 500) this.#cache.clear();
      this.#cache.set(sql, s);
    }
    return s;
  }
  close(): void {
    this.#cache.clear();
    this.raw.close();
  }
}

export function nodeSqliteDialect(db: NodeSqliteDatabase): SqliteDialect {
  return new SqliteDialect({ database: db });
}
