// The PostgreSQL engine: a pool of `pg` connections through Kysely's PostgresDialect. Several
// server processes may share one database: every write is a compare-and-set under row locks.

import { Kysely, type Kysely as KyselyType, PostgresDialect, type Transaction } from "kysely";
import pg from "pg";
import type { StoreCapabilities } from "../contract.ts";
import { KyselyStore } from "../kysely-store.ts";
import { migrateSchema } from "../migrate-schema.ts";
import type { Database } from "../schema.ts";
import { PG_SCHEMA } from "./pg-migrations.ts";

export interface PostgresStoreOptions {
  /** Most connections this process holds at once. */
  poolSize?: number;
  /** An idle connection failed (server restarted, network cut): the pool replaces it. */
  onError?: (e: Error) => void;
}

const INT8 = 20;

export class PostgresStore extends KyselyStore {
  readonly engine = "postgres";
  readonly capabilities: StoreCapabilities = { multiProcess: true };

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      // Ids and counts are BIGINT: numbers here (ids stay far below 2^53), not strings.
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // Without a listener an idle client's error would end the process.
    pool.on("error", (e) => opts.onError?.(e));
    super(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
  }

  async migrate(): Promise<void> {
    await migrateSchema(this.db as KyselyType<Database>, PG_SCHEMA, this.engine);
  }

  /**
   * Row locks in id order before a multi-row write: two servers updating overlapping jobs
   * queue behind each other instead of deadlocking. `skipLocked`: rows another transaction
   * holds are left out (that transaction is moving those jobs anyway).
   */
  protected override async lockJobs(
    trx: Transaction<Database>,
    ids: number[],
    opts: { skipLocked: boolean },
  ): Promise<number[]> {
    let q = trx
      .selectFrom("jobs")
      .select("id")
      .where("id", "in", [...new Set(ids)])
      .orderBy("id")
      .forUpdate();
    if (opts.skipLocked) q = q.skipLocked();
    return (await q.execute()).map((r) => Number(r.id));
  }

  /** The admins' rows locked in name order first: two such changes run one after the other. */
  protected override keepingAnAdmin<T>(change: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .selectFrom("users")
        .select("name")
        .where("role", "=", "admin")
        .orderBy("name")
        .forUpdate()
        .execute();
      return change(trx);
    });
  }
}
