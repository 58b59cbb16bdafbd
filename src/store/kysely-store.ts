// The store contract implemented once over Kysely; engines supply the connection and schema.

import { type ExpressionBuilder, type Insertable, type Kysely, sql, type Transaction } from "kysely";
import type { JobEventRecord, JobRecord, NewJob, UserPatch, UserRecord } from "../domain/job.ts";
import type { JobState } from "../domain/job-state.ts";
import * as outbox from "./agent-message-rows.ts";
import type {
  AgentConnection,
  AgentMessage,
  JobFilter,
  JobPrediction,
  JobUpdate,
  NodeHeard,
  Store,
  StoreCapabilities,
  WaitingBrief,
} from "./contract.ts";
import {
  type Database,
  eventFromRow,
  type JobEventsTable,
  jobFromRow,
  patchToColumns,
  userFromRow,
} from "./schema.ts";

export abstract class KyselyStore implements Store {
  abstract readonly engine: string;
  abstract readonly capabilities: StoreCapabilities;
  protected readonly db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  abstract migrate(): Promise<void>;

  /**
   * Lock the given jobs' rows for the rest of `trx` and return the ids locked (with
   * `skipLocked`, those another transaction holds are left out). The default suits an engine
   * whose write transaction already excludes every other writer (SQLite): nothing to do.
   */
  protected async lockJobs(
    _trx: Transaction<Database>,
    ids: number[],
    _opts: { skipLocked: boolean },
  ): Promise<number[]> {
    return ids;
  }

  /**
   * Run a change that must keep an enabled admin (it reads the admins' rows in its condition).
   * One statement is enough where one writing statement excludes every other (SQLite); an
   * engine with concurrent writers locks the admins' rows first.
   */
  protected keepingAnAdmin<T>(change: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return change(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  #inserts: {
    job: NewJob;
    event: { at: number; description: string };
    resolve(j: JobRecord): void;
    reject(e: unknown): void;
  }[] = [];
  #flushing: Promise<void> | null = null;

  /**
   * Group commit: submissions that arrive in the same turn of the event loop share one
   * transaction (one WAL commit), and each promise resolves only after that commit.
   */
  insertJob(job: NewJob, event: { at: number; description: string }): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      this.#inserts.push({ job, event, resolve, reject });
      this.#flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#flushInserts());
    });
  }

  async #flushInserts(): Promise<void> {
    const batch = this.#inserts.splice(0, 500);
    try {
      const rows = await this.#insertBatch(batch);
      for (const [i, row] of rows.entries()) batch[i]!.resolve(row);
    } catch (e) {
      if (batch.length === 1) batch[0]!.reject(e);
      else {
        // One bad row must not fail the others that happened to share its transaction:
        // insert each alone, so only the culprit is rejected.
        for (const b of batch) {
          try {
            const [row] = await this.#insertBatch([b]);
            b.resolve(row!);
          } catch (err) {
            b.reject(err);
          }
        }
      }
    } finally {
      this.#flushing =
        this.#inserts.length > 0
          ? new Promise<void>((r) => setImmediate(r)).then(() => this.#flushInserts())
          : null;
    }
  }

  async #insertBatch(
    batch: { job: NewJob; event: { at: number; description: string } }[],
  ): Promise<JobRecord[]> {
    return this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto("jobs")
        .values(
          batch.map(({ job }) => ({
            site: job.site,
            user: job.user,
            state: job.hold ? "hold" : "waiting",
            queue: job.queue,
            name: job.name,
            project: job.project,
            command: job.command,
            resources: job.resources,
            properties: job.properties,
            types: JSON.stringify(job.types),
            walltime: job.walltime,
            directory: job.directory,
            stdout: job.stdout,
            stderr: job.stderr,
            env: JSON.stringify(job.env),
            submitted_at: job.submittedAt,
            assigned_nodes: "[]",
            cancel_requested: 0,
            dependencies: JSON.stringify(job.dependencies),
            reservation_at: job.reservationAt,
            array_id: job.arrayOf,
            array_index: job.arrayIndex,
          })),
        )
        .returningAll()
        .execute();
      // RETURNING gives no order guarantee: match rows to requests by id order, which
      // follows insertion order within one statement.
      inserted.sort((x, y) => Number(x.id) - Number(y.id));
      await trx
        .insertInto("job_events")
        .values(
          inserted.map((row, i) => ({
            job_id: row.id,
            created_at: batch[i]!.event.at,
            type: "SUBMIT",
            description: batch[i]!.event.description,
          })),
        )
        .execute();
      return inserted.map(jobFromRow);
    });
  }

  async getJob(id: number): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
    return row && jobFromRow(row);
  }

  async listJobs(f: JobFilter): Promise<{ total: number; items: JobRecord[] }> {
    let q = this.db.selectFrom("jobs");
    if (f.site !== undefined) q = q.where("site", "=", f.site);
    if (f.states?.length) q = q.where("state", "in", f.states);
    if (f.user !== undefined) q = q.where("user", "=", f.user);
    if (f.name !== undefined) q = q.where("name", "=", f.name);
    if (f.queue !== undefined) q = q.where("queue", "=", f.queue);
    if (f.project !== undefined) q = q.where("project", "=", f.project);
    if (f.ids?.length) q = q.where("id", "in", f.ids);
    const [count, rows] = await Promise.all([
      q.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
      q.selectAll().orderBy("id", "desc").limit(f.limit).offset(f.offset).execute(),
    ]);
    return { total: Number(count.n), items: rows.map(jobFromRow) };
  }

  async listJobsInStates(site: string, states: JobState[], limit: number): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("site", "=", site)
      .where("state", "in", states)
      .orderBy("id", "asc")
      .limit(limit)
      .execute();
    return rows.map(jobFromRow);
  }

  async updateJobs(updates: JobUpdate[]): Promise<(JobRecord | null)[]> {
    if (updates.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      await this.lockJobs(
        trx,
        updates.map((u) => u.id),
        { skipLocked: false },
      );
      const out: (JobRecord | null)[] = [];
      const events: Insertable<JobEventsTable>[] = [];
      for (const u of updates) {
        let q = trx
          .updateTable("jobs")
          .set(patchToColumns(u.patch))
          .where("id", "=", u.id)
          .where("state", "=", u.expect.state);
        if (u.expect.leaseId !== undefined) {
          q =
            u.expect.leaseId === null
              ? q.where("lease_id", "is", null)
              : q.where("lease_id", "=", u.expect.leaseId);
        }
        const row = await q.returningAll().executeTakeFirst();
        if (!row) {
          out.push(null);
          continue;
        }
        events.push({
          job_id: u.id,
          created_at: u.event.at,
          type: u.event.type,
          description: u.event.description,
        });
        out.push(jobFromRow(row));
      }
      // The events in one statement at the end (in the updates' order): one round trip, not one
      // per update.
      if (events.length > 0) await trx.insertInto("job_events").values(events).execute();
      return out;
    });
  }

  async listWaitingBrief(site: string): Promise<WaitingBrief[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .select(["id", "state", "walltime"])
      .where("site", "=", site)
      .where("state", "in", ["waiting", "hold"])
      .orderBy("id", "asc")
      .execute();
    return rows.map((r) => ({ id: Number(r.id), state: r.state as JobState, walltime: Number(r.walltime) }));
  }

  async setPredictions(items: JobPrediction[]): Promise<void> {
    if (items.length === 0) return;
    // The last prediction of a job wins, as if written one by one.
    const latest = [...new Map(items.map((p) => [p.id, p])).values()];
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < latest.length; i += 1000) {
        const chunk = latest.slice(i, i + 1000);
        // A prediction is advice: a job another transaction is moving right now gets none.
        const free = new Set(
          await this.lockJobs(
            trx,
            chunk.map((p) => p.id),
            { skipLocked: true },
          ),
        );
        const rows = chunk.filter((p) => free.has(p.id));
        if (rows.length === 0) continue;
        // One statement per chunk, not one per job: a pass may move thousands of predictions,
        // and over a network each statement is a round trip. Casts type the VALUES for
        // PostgreSQL (SQLite reads them as affinities).
        const values = sql.join(
          rows.map(
            (p) =>
              sql`(CAST(${p.id} AS BIGINT), CAST(${p.scheduledAt} AS DOUBLE PRECISION), CAST(${p.reason} AS TEXT))`,
          ),
        );
        await sql`WITH p (id, scheduled_at, pending_reason) AS (VALUES ${values})
          UPDATE jobs SET scheduled_at = p.scheduled_at, pending_reason = p.pending_reason
          FROM p WHERE jobs.id = p.id AND jobs.state IN ('waiting', 'hold')`.execute(trx);
      }
    });
  }

  async listEvents(jobIds: number[]): Promise<Map<number, JobEventRecord[]>> {
    const out = new Map<number, JobEventRecord[]>();
    if (jobIds.length === 0) return out;
    const rows = await this.db
      .selectFrom("job_events")
      .selectAll()
      .where("job_id", "in", jobIds)
      .orderBy("id", "asc")
      .execute();
    for (const r of rows) {
      const e = eventFromRow(r);
      const list = out.get(e.jobId);
      if (list) list.push(e);
      else out.set(e.jobId, [e]);
    }
    return out;
  }

  async appendEvent(jobId: number, e: { at: number; type: string; description: string }): Promise<void> {
    await this.db
      .insertInto("job_events")
      .values({ job_id: jobId, created_at: e.at, type: e.type, description: e.description })
      .execute();
  }

  async forgetJob(id: number, states: JobState[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The state condition makes this a compare-and-set: a job that moved on is kept.
      const r = await trx
        .deleteFrom("jobs")
        .where("id", "=", id)
        .where("state", "in", states)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await trx.deleteFrom("job_events").where("job_id", "=", id).execute();
      return true;
    });
  }

  async insertUser(u: UserRecord): Promise<void> {
    await this.db
      .insertInto("users")
      .values({
        name: u.name,
        role: u.role,
        password_hash: u.passwordHash,
        created_at: u.createdAt,
        disabled: u.disabled ? 1 : 0,
        tokens_not_before: u.tokensNotBefore,
      })
      .execute();
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom("users").selectAll().where("name", "=", name).executeTakeFirst();
    return row && userFromRow(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom("users").selectAll().orderBy("name").execute();
    return rows.map(userFromRow);
  }

  async setPassword(name: string, passwordHash: string): Promise<boolean> {
    const r = await this.db
      .updateTable("users")
      .set({ password_hash: passwordHash })
      .where("name", "=", name)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async listJobsEndedSince(since: number, limit: number): Promise<JobRecord[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where("state", "in", ["terminated", "error"])
      .where("stopped_at", ">=", since)
      .where("started_at", "is not", null)
      .orderBy("stopped_at")
      .limit(limit)
      .execute();
    return rows.map(jobFromRow);
  }

  async recordHeard(items: NodeHeard[]): Promise<void> {
    if (items.length === 0) return;
    const values = items.map((h) => ({ node: h.node, server: h.server, site: h.site, heard_at: h.at }));
    await this.db
      .insertInto("node_heard")
      .values(values)
      .onConflict((oc) =>
        oc.columns(["node", "server"]).doUpdateSet((eb) => ({
          site: eb.ref("excluded.site"),
          // A late write of an older time never moves a node back in time.
          heard_at: sql<number>`CASE WHEN excluded.heard_at > node_heard.heard_at THEN excluded.heard_at ELSE node_heard.heard_at END`,
        })),
      )
      .execute();
  }

  async listHeard(site: string): Promise<NodeHeard[]> {
    const rows = await this.db
      .selectFrom("node_heard")
      .selectAll()
      .where("site", "=", site)
      .orderBy("node")
      .orderBy("server")
      .execute();
    return rows.map((r) => ({ node: r.node, site: r.site, server: r.server, at: Number(r.heard_at) }));
  }

  async connectAgent(c: AgentConnection): Promise<void> {
    await this.db
      .insertInto("agent_connections")
      .values(c)
      .onConflict((oc) => oc.column("node").doUpdateSet({ site: c.site, server: c.server, since: c.since }))
      .execute();
  }

  async disconnectAgent(node: string, server: string): Promise<void> {
    await this.db
      .deleteFrom("agent_connections")
      .where("node", "=", node)
      .where("server", "=", server)
      .execute();
  }

  async listAgentConnections(site: string): Promise<AgentConnection[]> {
    const rows = await this.db
      .selectFrom("agent_connections")
      .selectAll()
      .where("site", "=", site)
      .orderBy("node")
      .execute();
    return rows.map((r) => ({ node: r.node, site: r.site, server: r.server, since: Number(r.since) }));
  }

  async claimLeadership(site: string, server: string, until: number, now: number): Promise<boolean> {
    // One statement decides: insert, or take over only an expired lease (or renew one's own).
    await this.db
      .insertInto("site_leaders")
      .values({ site, server, until })
      .onConflict((oc) =>
        oc
          .column("site")
          .doUpdateSet({ server, until })
          .where((eb) => eb.or([eb("site_leaders.until", "<", now), eb("site_leaders.server", "=", server)])),
      )
      .execute();
    const row = await this.db
      .selectFrom("site_leaders")
      .select(["server", "until"])
      .where("site", "=", site)
      .executeTakeFirst();
    return row?.server === server && Number(row.until) === until;
  }

  async releaseLeadership(site: string, server: string): Promise<void> {
    await this.db.deleteFrom("site_leaders").where("site", "=", site).where("server", "=", server).execute();
  }

  queueAgentMessages(items: AgentMessage[]): Promise<void> {
    return outbox.queueAgentMessages(this.db, items);
  }
  takeAgentMessages(nodes: string[]): Promise<AgentMessage[]> {
    return outbox.takeAgentMessages(this.db, nodes);
  }
  purgeAgentMessages(before: number): Promise<number> {
    return outbox.purgeAgentMessages(this.db, before);
  }
  changeMarker(): Promise<number> {
    return outbox.changeMarker(this.db);
  }

  async setNodeCredential(site: string, node: string, digest: string, at: number): Promise<void> {
    await this.db
      .insertInto("node_credentials")
      .values({ site, node, digest, issued_at: at })
      .onConflict((oc) => oc.columns(["site", "node"]).doUpdateSet({ digest, issued_at: at }))
      .execute();
  }

  async getNodeCredential(site: string, node: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("node_credentials")
      .select("digest")
      .where("site", "=", site)
      .where("node", "=", node)
      .executeTakeFirst();
    return row?.digest;
  }

  async updateUser(name: string, patch: UserPatch, o: { keepAnAdmin?: boolean } = {}): Promise<boolean> {
    const set: { role?: string; disabled?: number; tokens_not_before?: number | null } = {};
    if (patch.role !== undefined) set.role = patch.role;
    if (patch.disabled !== undefined) set.disabled = patch.disabled ? 1 : 0;
    if (patch.tokensNotBefore !== undefined) set.tokens_not_before = patch.tokensNotBefore;
    if (Object.keys(set).length === 0) return (await this.getUser(name)) !== undefined;
    const change = async (db: Kysely<Database>) => {
      let q = db.updateTable("users").set(set).where("name", "=", name);
      if (o.keepAnAdmin) q = q.where((eb) => anotherAdminOr(eb, name));
      return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
    };
    return o.keepAnAdmin ? this.keepingAnAdmin(change) : change(this.db);
  }

  async deleteUser(name: string, o: { keepAnAdmin?: boolean } = {}): Promise<boolean> {
    const change = async (db: Kysely<Database>) => {
      let q = db.deleteFrom("users").where("name", "=", name);
      if (o.keepAnAdmin) q = q.where((eb) => anotherAdminOr(eb, name));
      return Number((await q.executeTakeFirst()).numDeletedRows) > 0;
    };
    return o.keepAnAdmin ? this.keepingAnAdmin(change) : change(this.db);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom("meta").select("value").where("key", "=", key).executeTakeFirst();
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db
      .insertInto("meta")
      .values({ key, value })
      .onConflict((oc) => oc.column("key").doUpdateSet({ value }))
      .execute();
  }
}

/**
 * The row `name` is not an enabled admin, or another enabled admin exists: checked in the same
 * statement as the change, so two admins disabling each other at once cannot both pass (SQLite
 * runs one writing statement at a time; PostgreSQL first locks the admins' rows, `keepingAnAdmin`,
 * so the second statement starts after the first commits and sees its change).
 */
function anotherAdminOr(eb: ExpressionBuilder<Database, "users">, name: string) {
  return eb.or([
    eb("role", "<>", "admin"),
    eb("disabled", "<>", 0),
    eb.exists(
      eb
        .selectFrom("users as other")
        .select("other.name")
        .where("other.name", "<>", name)
        .where("other.role", "=", "admin")
        .where("other.disabled", "=", 0),
    ),
  ]);
}
