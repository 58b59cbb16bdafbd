// The SQLite engine: one database file in WAL mode, through node:sqlite and Kysely.

import { chmodSync } from "node:fs";
import { Kysely, sql } from "kysely";
import type { StoreCapabilities } from "../contract.ts";
import { KyselyStore } from "../kysely-store.ts";
import type { Database } from "../schema.ts";
import { NodeSqliteDatabase, nodeSqliteDialect } from "./node-sqlite-dialect.ts";

const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
       created_at REAL NOT NULL)`,
    `CREATE TABLE jobs (
       id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, user TEXT NOT NULL, state TEXT NOT NULL,
       queue TEXT NOT NULL, name TEXT, project TEXT, command TEXT NOT NULL, resources TEXT NOT NULL,
       properties TEXT, types TEXT NOT NULL, walltime INTEGER NOT NULL, directory TEXT NOT NULL,
       stdout TEXT NOT NULL, stderr TEXT NOT NULL, env TEXT NOT NULL, submitted_at REAL NOT NULL,
       scheduled_at REAL, started_at REAL, stopped_at REAL, exit_code INTEGER, message TEXT,
       lease_id TEXT, assigned_nodes TEXT NOT NULL, cancel_requested INTEGER NOT NULL DEFAULT 0)`,
    `CREATE INDEX jobs_site_state ON jobs (site, state)`,
    `CREATE INDEX jobs_user ON jobs (user)`,
    `CREATE TABLE job_events (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL,
       created_at REAL NOT NULL, type TEXT NOT NULL, description TEXT NOT NULL)`,
    `CREATE INDEX job_events_job ON job_events (job_id)`,
  ],
  // 2: the planner's pending reason of a waiting job (its prediction goes in scheduled_at).
  [`ALTER TABLE jobs ADD COLUMN pending_reason TEXT`],
  // 3: dependencies, advance reservations and job arrays.
  [
    `ALTER TABLE jobs ADD COLUMN dependencies TEXT NOT NULL DEFAULT '[]'`,
    `ALTER TABLE jobs ADD COLUMN reservation_at REAL`,
    `ALTER TABLE jobs ADD COLUMN array_id INTEGER`,
    `ALTER TABLE jobs ADD COLUMN array_index INTEGER`,
  ],
  // 4: users can be disabled, and their tokens revoked (those issued before the stamp).
  [
    `ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE users ADD COLUMN tokens_not_before REAL`,
  ],
  // 5: control-plane state any server can read: when each server last heard from each node,
  // which server holds each node's agent connection, nodes' agent credentials (moved out of
  // `meta`, keys 'node-credential:SITE:NODE'), each site's leader lease, and the ended jobs
  // that fair-share usage is rebuilt from, by end time.
  [
    `CREATE TABLE node_heard (node TEXT NOT NULL, server TEXT NOT NULL, site TEXT NOT NULL,
       heard_at REAL NOT NULL, PRIMARY KEY (node, server))`,
    `CREATE INDEX node_heard_site ON node_heard (site)`,
    `CREATE TABLE node_credentials (site TEXT NOT NULL, node TEXT NOT NULL, digest TEXT NOT NULL,
       issued_at REAL NOT NULL, PRIMARY KEY (site, node))`,
    `INSERT INTO node_credentials (site, node, digest, issued_at)
       SELECT substr(key, 17, instr(substr(key, 17), ':') - 1),
              substr(key, 17 + instr(substr(key, 17), ':')), value, 0
       FROM meta WHERE key LIKE 'node-credential:%' AND instr(substr(key, 17), ':') > 0`,
    `DELETE FROM meta WHERE key LIKE 'node-credential:%'`,
    `CREATE INDEX jobs_stopped ON jobs (stopped_at)`,
    `CREATE TABLE site_leaders (site TEXT PRIMARY KEY, server TEXT NOT NULL, until REAL NOT NULL)`,
    `CREATE TABLE agent_connections (node TEXT PRIMARY KEY, site TEXT NOT NULL, server TEXT NOT NULL,
       since REAL NOT NULL)`,
  ],
  // 6: messages for agents held by another server than the one that decided them (portable SQL:
  // text keys, no AUTOINCREMENT; SQLite reads BIGINT and DOUBLE PRECISION as INTEGER and REAL).
  [
    `CREATE TABLE IF NOT EXISTS agent_messages (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, node TEXT NOT NULL,
       site TEXT NOT NULL, kind TEXT NOT NULL, job_id BIGINT NOT NULL, lease_id TEXT, reason TEXT,
       created_at DOUBLE PRECISION NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS agent_messages_node ON agent_messages (node)`,
  ],
];

export class SqliteStore extends KyselyStore {
  readonly engine = "sqlite";
  readonly capabilities: StoreCapabilities = { multiProcess: false };
  readonly #raw: NodeSqliteDatabase;

  constructor(path: string) {
    const raw = new NodeSqliteDatabase(path);
    // Password hashes live here: owner only. SQLite gives its -wal and -shm files the same mode.
    if (path !== ":memory:") chmodSync(path, 0o600);
    // WAL: readers never block the writer. synchronous=NORMAL: a commit is in the WAL file when
    // it returns, so it survives the process being killed (not a power cut: see docs).
    raw.raw.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
    super(new Kysely<Database>({ dialect: nodeSqliteDialect(raw) }));
    this.#raw = raw;
  }

  async migrate(): Promise<void> {
    const db = this.#raw.raw;
    db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const version = (): number => {
      const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
        | { value: string }
        | undefined;
      return row ? Number(row.value) : 0;
    };
    while (version() < MIGRATIONS.length) {
      // BEGIN IMMEDIATE takes the write lock first, and the version is read again under it, so
      // two processes starting together never run the same migration twice.
      db.exec("BEGIN IMMEDIATE");
      try {
        const v = version();
        if (v < MIGRATIONS.length) {
          for (const stmt of MIGRATIONS[v]!) db.exec(stmt);
          db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(
            String(v + 1),
          );
        }
        db.exec("COMMIT");
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      }
    }
    await sql`SELECT 1`.execute(this.db);
  }
}
