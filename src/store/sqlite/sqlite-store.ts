// The SQLite engine: one database file in WAL mode, through node:sqlite and Kysely.

import { chmodSync } from "node:fs";
import { Kysely } from "kysely";
import type { StoreCapabilities } from "../contract.ts";
import { KyselyStore } from "../kysely-store.ts";
import { migrateSchema, type SchemaHistory } from "../migrate-schema.ts";
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
];

/** SQLite's schema history; BEGIN IMMEDIATE takes the write lock before the version is read. */
export const SQLITE_SCHEMA: SchemaHistory = { steps: MIGRATIONS, begin: ["BEGIN IMMEDIATE"] };

export class SqliteStore extends KyselyStore {
  readonly engine = "sqlite";
  readonly capabilities: StoreCapabilities = { multiProcess: false };

  constructor(path: string) {
    const raw = new NodeSqliteDatabase(path);
    // Password hashes live here: owner only. SQLite gives its -wal and -shm files the same mode.
    if (path !== ":memory:") chmodSync(path, 0o600);
    // WAL: readers never block the writer. synchronous=NORMAL: a commit is in the WAL file when
    // it returns, so it survives the process being killed (not a power cut: see docs).
    raw.raw.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
    super(new Kysely<Database>({ dialect: nodeSqliteDialect(raw) }));
  }

  async migrate(): Promise<void> {
    // The write lock is taken first and the version read again under it, so two processes
    // starting together never run the same migration twice.
    await migrateSchema(this.db, SQLITE_SCHEMA, this.engine);
  }
}
