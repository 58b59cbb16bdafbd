// The store conformance suite: every engine runs these tests, unchanged, on its real database.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobRecord, NewJob, UserRecord } from "../../src/domain/job.ts";
import type { JobFilter, JobUpdate, Store } from "../../src/store/contract.ts";
import { SchemaTooNewError } from "../../src/store/migrate-schema.ts";
import { controlPlaneCases } from "./control-plane-conformance.ts";

/** What an engine's harness gives each test: a fresh, migrated database of its own. */
export interface OpenedStore {
  store: Store;
  /** Another Store on the same database, as a second server process would open it. */
  openSecond: () => Promise<Store>;
  /** Close every store opened here and remove the data (kept when the test failed). */
  cleanup: (outcome: { failed: boolean }) => Promise<void>;
}

/** A fresh database named by one string (a SQLite file or a postgres:// URL), not migrated. */
export interface FreshDatabase {
  spec: string;
  /** Remove the data (kept when the test failed). */
  cleanup(outcome: { failed: boolean }): Promise<void>;
}

/** The harness of one test: `open` stores on a fresh database, the first one migrated. */
export async function storeOn(db: FreshDatabase, open: (spec: string) => Store): Promise<OpenedStore> {
  const opened: Store[] = [];
  const openOne = async (): Promise<Store> => {
    const s = open(db.spec);
    opened.push(s);
    return s;
  };
  const store = await openOne();
  await store.migrate();
  return {
    store,
    openSecond: openOne,
    async cleanup(outcome) {
      for (const s of opened) await s.close();
      await db.cleanup(outcome);
    },
  };
}

const T0 = 1_764_000_000.25;

export function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    site: "local",
    user: "alice",
    queue: "default",
    name: null,
    project: null,
    command: "sleep 1",
    resources: "nodes=1",
    properties: null,
    types: [],
    walltime: 3600,
    directory: "/home/alice",
    stdout: "OAR.%jobid%.stdout",
    stderr: "OAR.%jobid%.stderr",
    env: {},
    submittedAt: T0,
    hold: false,
    dependencies: [],
    reservationAt: null,
    arrayOf: null,
    arrayIndex: null,
    ...over,
  };
}

/** The record insertJob must return for `j` with id `id`. */
function expectedRecord(id: number, j: NewJob): JobRecord {
  const { hold, arrayOf, ...rest } = j;
  return {
    id,
    ...rest,
    arrayId: arrayOf ?? (j.arrayIndex !== null ? id : null),
    state: hold ? "hold" : "waiting",
    scheduledAt: null,
    startedAt: null,
    stoppedAt: null,
    exitCode: null,
    message: null,
    leaseId: null,
    assignedNodes: [],
    cancelRequested: false,
    pendingReason: null,
  };
}

const all = (f: Partial<JobFilter> = {}): JobFilter => ({ offset: 0, limit: 1000, ...f });
const ids = (jobs: { id: number }[]): number[] => jobs.map((j) => j.id);
const submit = (at = T0) => ({ at, description: "submitted" });

function schedule(id: number, leaseId: string, at = T0 + 10): JobUpdate {
  return {
    id,
    expect: { state: "waiting" },
    patch: {
      state: "launching",
      leaseId,
      assignedNodes: [{ node: "n1", cores: 2 }],
      scheduledAt: at,
    },
    event: { at, type: "SCHEDULE", description: `scheduled ${leaseId}` },
  };
}

function start(id: number, leaseId: string | null, at = T0 + 20): JobUpdate {
  return {
    id,
    expect: { state: "launching", leaseId },
    patch: { state: "running", startedAt: at },
    event: { at, type: "START", description: "started" },
  };
}

async function eventTypes(store: Store, id: number): Promise<string[]> {
  return ((await store.listEvents([id])).get(id) ?? []).map((e) => e.type);
}

export function runStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  /** One test on its own fresh database. */
  const it = (title: string, fn: (s: Store, o: OpenedStore) => Promise<void>): void => {
    test(`${name} store: ${title}`, async () => {
      const o = await open();
      let failed = true;
      try {
        await fn(o.store, o);
        failed = false;
      } finally {
        await o.cleanup({ failed });
      }
    });
  };

  controlPlaneCases(it, newJob);

  it("insertJob returns the full record with increasing ids; getJob reads it back", async (s) => {
    const a = newJob({
      name: "first",
      project: "p1",
      properties: "cluster='dahu'",
      types: ["besteffort", "deploy"],
      env: { A: "1", B: "two words" },
      command: "echo 'a b' \"$HOME\"",
    });
    const r1 = await s.insertJob(a, submit());
    const r2 = await s.insertJob(newJob({ submittedAt: T0 + 1 }), submit(T0 + 1));
    const r3 = await s.insertJob(newJob({ submittedAt: T0 + 2 }), submit(T0 + 2));
    assert.ok(Number.isInteger(r1.id) && r1.id > 0, `id ${r1.id}`);
    assert.ok(r2.id > r1.id && r3.id > r2.id, `ids ${r1.id}, ${r2.id}, ${r3.id}`);
    assert.deepEqual(r1, expectedRecord(r1.id, a));
    assert.deepEqual(await s.getJob(r1.id), expectedRecord(r1.id, a));
    assert.deepEqual(await s.getJob(r3.id), r3);
    assert.equal(await s.getJob(r3.id + 1000), undefined);
  });

  it("insertJob keeps dependencies, reservation and array fields; an array's id is its first job's", async (s) => {
    const first = await s.insertJob(
      newJob({ arrayIndex: 0, dependencies: ["afterok:3", "after:4"], reservationAt: T0 + 3600 }),
      submit(),
    );
    const second = await s.insertJob(newJob({ arrayIndex: 1, arrayOf: first.id }), submit());
    assert.deepEqual([first.arrayId, first.arrayIndex], [first.id, 0]);
    assert.deepEqual([second.arrayId, second.arrayIndex], [first.id, 1]);
    const back = await s.getJob(first.id);
    assert.deepEqual(back?.dependencies, ["afterok:3", "after:4"]);
    assert.equal(back?.reservationAt, T0 + 3600);
    assert.equal((await s.getJob(second.id))?.arrayId, first.id);
  });

  it("insertJob writes the SUBMIT event with the job; hold gives state hold", async (s) => {
    const held = await s.insertJob(newJob({ hold: true }), { at: T0 + 5, description: "held at submit" });
    assert.equal(held.state, "hold");
    assert.equal((await s.getJob(held.id))?.state, "hold");
    const events = (await s.listEvents([held.id])).get(held.id);
    assert.equal(events?.length, 1);
    const [e] = events!;
    assert.deepEqual(
      { ...e, id: 0 },
      { id: 0, jobId: held.id, createdAt: T0 + 5, type: "SUBMIT", description: "held at submit" },
    );
  });

  it("concurrent insertJob calls each get their own record and SUBMIT event, ids in call order", async (s) => {
    const n = 50;
    const made = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        s.insertJob(newJob({ name: `c${i}`, submittedAt: T0 + i, hold: i % 2 === 1 }), {
          at: T0 + i,
          description: `d${i}`,
        }),
      ),
    );
    made.forEach((r, i) => {
      assert.deepEqual(
        r,
        expectedRecord(r.id, newJob({ name: `c${i}`, submittedAt: T0 + i, hold: i % 2 === 1 })),
      );
    });
    assert.deepEqual(
      ids(made),
      [...ids(made)].sort((x, y) => x - y),
      "ids follow the order of the calls",
    );
    assert.equal(new Set(ids(made)).size, n);
    const events = await s.listEvents(ids(made));
    made.forEach((r, i) => {
      assert.deepEqual(
        events.get(r.id)?.map((e) => [e.jobId, e.createdAt, e.type, e.description]),
        [[r.id, T0 + i, "SUBMIT", `d${i}`]],
      );
    });
    assert.equal((await s.listJobs(all())).total, n);
  });

  it("a failing insertJob fails alone: concurrent inserts are not lost with it", async (s) => {
    // A job without a command violates the schema in every engine.
    const bad = newJob({ command: null as unknown as string });
    const results = await Promise.allSettled([
      s.insertJob(newJob({ name: "before" }), submit()),
      s.insertJob(bad, submit()),
      s.insertJob(newJob({ name: "after" }), submit()),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    const names = (await s.listJobs(all())).items.map((j) => j.name);
    assert.deepEqual(names, ["after", "before"]);
  });

  it("listJobs: newest first, every filter, total vs page, offset and limit", async (s) => {
    const mk = (o: Partial<NewJob>) => s.insertJob(newJob(o), submit());
    const j1 = await mk({ user: "alice", queue: "default", name: "a", project: "p1" });
    const j2 = await mk({ user: "bob", queue: "besteffort", name: "b", project: "p2" });
    const j3 = await mk({ user: "alice", queue: "besteffort", name: "a", project: null, hold: true });
    const j4 = await mk({ site: "other", user: "alice", name: "a" });
    const j5 = await mk({ user: "carol", name: null, project: "p1" });
    await s.updateJobs([schedule(j2.id, "L2")]);

    const list = async (f: Partial<JobFilter>) => {
      const r = await s.listJobs(all(f));
      return { total: r.total, ids: ids(r.items) };
    };
    assert.deepEqual(await list({}), { total: 5, ids: [j5.id, j4.id, j3.id, j2.id, j1.id] });
    assert.deepEqual(await list({ site: "local" }), { total: 4, ids: [j5.id, j3.id, j2.id, j1.id] });
    assert.deepEqual(await list({ site: "other" }), { total: 1, ids: [j4.id] });
    assert.deepEqual(await list({ site: "nowhere" }), { total: 0, ids: [] });
    assert.deepEqual(await list({ user: "alice" }), { total: 3, ids: [j4.id, j3.id, j1.id] });
    assert.deepEqual(await list({ name: "a" }), { total: 3, ids: [j4.id, j3.id, j1.id] });
    assert.deepEqual(await list({ queue: "besteffort" }), { total: 2, ids: [j3.id, j2.id] });
    assert.deepEqual(await list({ project: "p1" }), { total: 2, ids: [j5.id, j1.id] });
    assert.deepEqual(await list({ states: ["hold"] }), { total: 1, ids: [j3.id] });
    assert.deepEqual(await list({ states: ["launching", "hold"] }), { total: 2, ids: [j3.id, j2.id] });
    assert.deepEqual(await list({ states: ["running"] }), { total: 0, ids: [] });
    assert.deepEqual(await list({ ids: [j1.id, j4.id, j5.id + 100] }), { total: 2, ids: [j4.id, j1.id] });
    assert.deepEqual(await list({ site: "local", user: "alice", states: ["waiting", "hold"], name: "a" }), {
      total: 2,
      ids: [j3.id, j1.id],
    });

    // Paging: `total` counts every match, `items` only the page.
    assert.deepEqual(await list({ limit: 2 }), { total: 5, ids: [j5.id, j4.id] });
    assert.deepEqual(await list({ offset: 2, limit: 2 }), { total: 5, ids: [j3.id, j2.id] });
    assert.deepEqual(await list({ offset: 4, limit: 2 }), { total: 5, ids: [j1.id] });
    assert.deepEqual(await list({ offset: 10, limit: 2 }), { total: 5, ids: [] });
    assert.deepEqual(await list({ user: "alice", offset: 1, limit: 1 }), { total: 3, ids: [j3.id] });

    const page = await s.listJobs(all({ ids: [j2.id] }));
    assert.deepEqual(page.items, [await s.getJob(j2.id)]);
  });

  it("listJobsInStates: one site, the given states, oldest first, at most limit", async (s) => {
    const mk = (o: Partial<NewJob> = {}) => s.insertJob(newJob(o), submit());
    const j1 = await mk();
    const j2 = await mk({ hold: true });
    const j3 = await mk();
    await mk({ site: "other" });
    const j5 = await mk();
    await s.updateJobs([schedule(j3.id, "L3")]);
    const got = async (states: JobRecord["state"][], limit: number, site = "local") =>
      ids(await s.listJobsInStates(site, states, limit));
    assert.deepEqual(await got(["waiting"], 10), [j1.id, j5.id]);
    assert.deepEqual(await got(["waiting", "launching"], 10), [j1.id, j3.id, j5.id]);
    assert.deepEqual(await got(["waiting", "launching", "hold"], 2), [j1.id, j2.id]);
    assert.deepEqual(await got(["running"], 10), []);
    assert.deepEqual(await got(["waiting"], 10, "nowhere"), []);
    const [first] = await s.listJobsInStates("local", ["launching"], 1);
    assert.deepEqual(first, await s.getJob(j3.id));
  });

  it("updateJobs applies a patch and its event; unset fields stay as they were", async (s) => {
    const j = await s.insertJob(newJob({ name: "keep" }), submit());
    assert.deepEqual(await s.updateJobs([]), []);
    const [r] = await s.updateJobs([schedule(j.id, "L1", T0 + 10)]);
    const want: JobRecord = {
      ...j,
      state: "launching",
      leaseId: "L1",
      assignedNodes: [{ node: "n1", cores: 2 }],
      scheduledAt: T0 + 10,
    };
    assert.deepEqual(r, want);
    assert.deepEqual(await s.getJob(j.id), want);
    const [fin] = await s.updateJobs([
      {
        id: j.id,
        expect: { state: "launching", leaseId: "L1" },
        patch: {
          state: "error",
          stoppedAt: T0 + 30,
          exitCode: -1,
          message: "canceled by user",
          cancelRequested: true,
          leaseId: null,
        },
        event: { at: T0 + 30, type: "FINISH", description: "done" },
      },
    ]);
    assert.deepEqual(fin, {
      ...want,
      state: "error",
      stoppedAt: T0 + 30,
      exitCode: -1,
      message: "canceled by user",
      cancelRequested: true,
      leaseId: null,
    });
    const events = (await s.listEvents([j.id])).get(j.id)!;
    assert.deepEqual(
      events.map((e) => [e.jobId, e.createdAt, e.type, e.description]),
      [
        [j.id, T0, "SUBMIT", "submitted"],
        [j.id, T0 + 10, "SCHEDULE", "scheduled L1"],
        [j.id, T0 + 30, "FINISH", "done"],
      ],
    );
  });

  it("updateJobs is a compare-and-set: a stale state expectation returns null and writes nothing", async (s) => {
    const a = await s.insertJob(newJob(), submit());
    const b = await s.insertJob(newJob(), submit());
    const [first] = await s.updateJobs([schedule(a.id, "L1")]);
    assert.equal(first?.state, "launching");
    // Someone else already scheduled `a`: the second schedule is stale; `b`'s still applies.
    const res = await s.updateJobs([schedule(a.id, "L2"), schedule(b.id, "L3")]);
    assert.equal(res.length, 2);
    assert.equal(res[0], null);
    assert.equal(res[1]?.leaseId, "L3");
    assert.equal((await s.getJob(a.id))?.leaseId, "L1");
    assert.deepEqual(await eventTypes(s, a.id), ["SUBMIT", "SCHEDULE"]);
    assert.deepEqual(await eventTypes(s, b.id), ["SUBMIT", "SCHEDULE"]);
    // A job that does not exist never matches.
    assert.deepEqual(await s.updateJobs([schedule(b.id + 1000, "L4")]), [null]);
    assert.equal((await s.listEvents([b.id + 1000])).size, 0);
  });

  it("updateJobs checks the lease: a given lease, null, or none at all", async (s) => {
    const a = await s.insertJob(newJob(), submit());
    await s.updateJobs([schedule(a.id, "L1")]);
    assert.deepEqual(await s.updateJobs([start(a.id, "L-other")]), [null]);
    assert.deepEqual(await s.updateJobs([start(a.id, null)]), [null]);
    assert.equal((await s.getJob(a.id))?.state, "launching");
    assert.deepEqual(await eventTypes(s, a.id), ["SUBMIT", "SCHEDULE"]);
    const [ok] = await s.updateJobs([start(a.id, "L1")]);
    assert.equal(ok?.state, "running");

    // Expecting lease null matches only a job without a lease.
    const b = await s.insertJob(newJob(), submit());
    const nullLease = (id: number): JobUpdate => ({
      id,
      expect: { state: "waiting", leaseId: null },
      patch: { state: "hold" },
      event: { at: T0, type: "HOLD", description: "held" },
    });
    assert.equal((await s.updateJobs([nullLease(b.id)]))[0]?.state, "hold");
    const c = await s.insertJob(newJob(), submit());
    // A waiting job with a lease left over (as after a requeue): expecting null must not match.
    await s.updateJobs([
      {
        id: c.id,
        expect: { state: "waiting" },
        patch: { state: "waiting", leaseId: "old" },
        event: { at: T0, type: "REQUEUE", description: "requeued" },
      },
    ]);
    assert.deepEqual(await s.updateJobs([nullLease(c.id)]), [null]);
    assert.equal((await s.getJob(c.id))?.state, "waiting");
    // No lease expectation: the lease is not looked at.
    const [any] = await s.updateJobs([{ ...nullLease(c.id), expect: { state: "waiting" } }]);
    assert.equal(any?.state, "hold");
    assert.equal(any?.leaseId, "old");
  });

  it("updateJobs chains several updates of one job in order, in one call", async (s) => {
    const a = await s.insertJob(newJob(), submit());
    const res = await s.updateJobs([schedule(a.id, "L1", T0 + 10), start(a.id, "L1", T0 + 20)]);
    assert.deepEqual(
      res.map((r) => r?.state),
      ["launching", "running"],
    );
    assert.equal(res[1]?.scheduledAt, T0 + 10);
    assert.equal(res[1]?.startedAt, T0 + 20);
    assert.deepEqual(await eventTypes(s, a.id), ["SUBMIT", "SCHEDULE", "START"]);
    // In the other order the start is stale when it runs, the schedule still applies.
    const b = await s.insertJob(newJob(), submit());
    const rev = await s.updateJobs([start(b.id, "L2"), schedule(b.id, "L2")]);
    assert.deepEqual(
      rev.map((r) => r?.state ?? null),
      [null, "launching"],
    );
    assert.deepEqual(await eventTypes(s, b.id), ["SUBMIT", "SCHEDULE"]);
  });

  it("updateJobs is all-or-nothing: when one update fails, none is kept", async (s) => {
    const a = await s.insertJob(newJob(), submit());
    const b = await s.insertJob(newJob(), submit());
    // An event without a description violates the schema in every engine.
    const broken: JobUpdate = {
      ...schedule(b.id, "L2"),
      event: { at: T0, type: "SCHEDULE", description: null as unknown as string },
    };
    await assert.rejects(s.updateJobs([schedule(a.id, "L1"), broken]));
    assert.deepEqual(await s.getJob(a.id), a);
    assert.deepEqual(await s.getJob(b.id), b);
    assert.deepEqual(await eventTypes(s, a.id), ["SUBMIT"]);
    assert.deepEqual(await eventTypes(s, b.id), ["SUBMIT"]);
    // The store is still usable after the rollback.
    assert.equal((await s.updateJobs([schedule(a.id, "L1")]))[0]?.leaseId, "L1");
  });

  it("listEvents groups by job, oldest first; appendEvent adds to the log", async (s) => {
    const a = await s.insertJob(newJob(), submit(T0));
    const b = await s.insertJob(newJob(), submit(T0 + 1));
    const c = await s.insertJob(newJob(), submit(T0 + 2));
    await s.appendEvent(a.id, { at: T0 + 3, type: "NOTE", description: "a1" });
    await s.appendEvent(b.id, { at: T0 + 4, type: "NOTE", description: "b1" });
    // Same timestamp as the previous event: order is the order of writing.
    await s.appendEvent(a.id, { at: T0 + 4, type: "NOTE", description: "a2" });
    await s.appendEvent(a.id, { at: T0 + 4, type: "OTHER", description: "a3" });
    const m = await s.listEvents([b.id, a.id, c.id + 1000]);
    assert.deepEqual([...m.keys()].sort(), [a.id, b.id].sort());
    const view = (id: number) => m.get(id)!.map((e) => [e.jobId, e.createdAt, e.type, e.description]);
    assert.deepEqual(view(a.id), [
      [a.id, T0, "SUBMIT", "submitted"],
      [a.id, T0 + 3, "NOTE", "a1"],
      [a.id, T0 + 4, "NOTE", "a2"],
      [a.id, T0 + 4, "OTHER", "a3"],
    ]);
    assert.deepEqual(view(b.id), [
      [b.id, T0 + 1, "SUBMIT", "submitted"],
      [b.id, T0 + 4, "NOTE", "b1"],
    ]);
    const aIds = m.get(a.id)!.map((e) => e.id);
    assert.deepEqual(
      aIds,
      [...aIds].sort((x, y) => x - y),
    );
    assert.equal(new Set(aIds).size, 4);
    assert.equal((await s.listEvents([])).size, 0);
    assert.equal((await s.listEvents([c.id])).get(c.id)?.length, 1);
  });

  it("users: insert, duplicate refused, get, list by name, setPassword", async (s) => {
    const plain = { disabled: false, tokensNotBefore: null };
    const alice: UserRecord = { name: "alice", role: "admin", passwordHash: "h1", createdAt: T0, ...plain };
    const bob: UserRecord = { name: "bob", role: "user", passwordHash: "h2", createdAt: T0 + 1, ...plain };
    await s.insertUser(bob);
    await s.insertUser(alice);
    await assert.rejects(s.insertUser({ ...alice, role: "user", passwordHash: "other" }));
    assert.deepEqual(await s.getUser("alice"), alice);
    assert.deepEqual(await s.getUser("bob"), bob);
    assert.equal(await s.getUser("carol"), undefined);
    assert.deepEqual(await s.listUsers(), [alice, bob]);
    assert.equal(await s.setPassword("bob", "h3"), true);
    assert.equal(await s.setPassword("carol", "h4"), false);
    assert.deepEqual(await s.getUser("bob"), { ...bob, passwordHash: "h3" });
    assert.deepEqual(await s.getUser("alice"), alice);
    assert.equal(await s.getUser("carol"), undefined);
  });

  it("users: updateUser (role, disabled, token stamp), deleteUser", async (s) => {
    const plain = { disabled: false, tokensNotBefore: null };
    const alice: UserRecord = { name: "alice", role: "user", passwordHash: "h1", createdAt: T0, ...plain };
    const bob: UserRecord = { name: "bob", role: "user", passwordHash: "h2", createdAt: T0, ...plain };
    await s.insertUser(alice);
    await s.insertUser(bob);
    // A stamp with a fraction survives the round trip (tokens carry millisecond issue times).
    assert.equal(await s.updateUser("alice", { disabled: true, tokensNotBefore: T0 + 0.125 }), true);
    assert.deepEqual(await s.getUser("alice"), { ...alice, disabled: true, tokensNotBefore: T0 + 0.125 });
    assert.equal(await s.updateUser("alice", { role: "admin", disabled: false }), true);
    assert.deepEqual(await s.getUser("alice"), { ...alice, role: "admin", tokensNotBefore: T0 + 0.125 });
    assert.equal(await s.updateUser("alice", { tokensNotBefore: null }), true);
    assert.deepEqual(await s.getUser("alice"), { ...alice, role: "admin" });
    assert.equal(await s.updateUser("carol", { disabled: true }), false);
    assert.equal(await s.updateUser("carol", {}), false);
    assert.equal(await s.updateUser("bob", {}), true);
    assert.deepEqual(await s.getUser("bob"), bob);
    // Inserted disabled, with a stamp: both kept.
    const dave: UserRecord = { ...bob, name: "dave", disabled: true, tokensNotBefore: T0 + 5 };
    await s.insertUser(dave);
    assert.deepEqual(await s.getUser("dave"), dave);
    assert.equal(await s.deleteUser("bob"), true);
    assert.equal(await s.deleteUser("bob"), false);
    assert.equal(await s.getUser("bob"), undefined);
    assert.deepEqual(
      (await s.listUsers()).map((u) => u.name),
      ["alice", "dave"],
    );
    // The name is free again.
    await s.insertUser(bob);
    assert.deepEqual(await s.getUser("bob"), bob);
  });

  it("meta: get of a missing key, set, overwrite", async (s) => {
    assert.equal(await s.getMeta("test.key"), undefined);
    await s.setMeta("test.key", "one");
    await s.setMeta("test.other", "");
    assert.equal(await s.getMeta("test.key"), "one");
    await s.setMeta("test.key", "two");
    assert.equal(await s.getMeta("test.key"), "two");
    assert.equal(await s.getMeta("test.other"), "");
  });

  it("migrate is idempotent and keeps the data", async (s) => {
    const j = await s.insertJob(newJob(), submit());
    await s.setMeta("test.key", "kept");
    await s.migrate();
    await s.migrate();
    assert.deepEqual(await s.getJob(j.id), j);
    assert.equal(await s.getMeta("test.key"), "kept");
    const k = await s.insertJob(newJob(), submit());
    assert.ok(k.id > j.id);
  });

  it("migrate refuses a database whose schema is newer than the code, and leaves it alone", async (s) => {
    const j = await s.insertJob(newJob(), submit());
    const known = Number(await s.getMeta("schema_version"));
    assert.ok(known >= 3, `schema_version ${known}`);
    await s.setMeta("schema_version", String(known + 1));
    await assert.rejects(s.migrate(), (e: Error) => {
      assert.ok(e instanceof SchemaTooNewError, String(e));
      assert.match(
        e.message,
        new RegExp(`schema is version ${known + 1}, newer than this gridq knows \\(${known}\\)`),
      );
      return true;
    });
    assert.deepEqual(await s.getJob(j.id), j);
    assert.equal(await s.getMeta("schema_version"), String(known + 1));
  });

  it("two stores on one database see each other's writes; a stale compare-and-set fails", async (s, o) => {
    const other = await o.openSecond();
    await other.migrate();
    const j = await s.insertJob(newJob(), submit());
    assert.deepEqual(await other.getJob(j.id), j);
    const k = await other.insertJob(newJob(), submit());
    assert.ok(k.id > j.id, `ids ${j.id} then ${k.id}`);
    assert.deepEqual(await s.getJob(k.id), k);

    // Both read `j` as waiting; the first to write wins, the other's expectation is stale.
    const [won] = await s.updateJobs([schedule(j.id, "L-first")]);
    assert.equal(won?.leaseId, "L-first");
    assert.deepEqual(await other.updateJobs([schedule(j.id, "L-second")]), [null]);
    assert.equal((await other.getJob(j.id))?.leaseId, "L-first");
    assert.deepEqual(await eventTypes(other, j.id), ["SUBMIT", "SCHEDULE"]);

    // The same the other way round, with a lease.
    const [ran] = await other.updateJobs([start(j.id, "L-first")]);
    assert.equal(ran?.state, "running");
    assert.deepEqual(await s.updateJobs([start(j.id, "L-first")]), [null]);
    assert.deepEqual(await eventTypes(s, j.id), ["SUBMIT", "SCHEDULE", "START"]);

    await other.setMeta("test.key", "from-other");
    assert.equal(await s.getMeta("test.key"), "from-other");
  });

  it("forgetJob deletes a job and its events only while it is in one of the given states", async (s) => {
    const j = await s.insertJob(newJob(), submit());
    const keep = await s.insertJob(newJob(), submit());
    assert.equal(await s.forgetJob(j.id, ["terminated", "error"]), false, "a waiting job is kept");
    assert.equal((await s.getJob(j.id))?.state, "waiting");
    const [ended] = await s.updateJobs([
      {
        id: j.id,
        expect: { state: "waiting" },
        patch: { state: "error", stoppedAt: T0 + 30 },
        event: { at: T0 + 30, type: "CANCEL", description: "x" },
      },
    ]);
    assert.equal(ended?.state, "error");
    assert.equal(await s.forgetJob(j.id, ["terminated", "error"]), true);
    assert.equal(await s.getJob(j.id), undefined);
    assert.equal((await s.listEvents([j.id])).get(j.id), undefined);
    assert.equal(await s.forgetJob(j.id, ["terminated", "error"]), false, "twice is a no-op");
    assert.deepEqual(ids((await s.listJobs(all())).items), [keep.id]);
    assert.deepEqual(await eventTypes(s, keep.id), ["SUBMIT"]);
  });

  it("listWaitingBrief lists a site's waiting and held jobs, oldest first, with state and walltime", async (s) => {
    const w = await s.insertJob(newJob({ walltime: 60 }), submit());
    const h = await s.insertJob(newJob({ hold: true, walltime: 120 }), submit());
    const r = await s.insertJob(newJob(), submit());
    await s.insertJob(newJob({ site: "other" }), submit());
    await s.updateJobs([schedule(r.id, "L-r")]);
    assert.deepEqual(await s.listWaitingBrief("local"), [
      { id: w.id, state: "waiting", walltime: 60 },
      { id: h.id, state: "hold", walltime: 120 },
    ]);
    assert.deepEqual(await s.listWaitingBrief("nowhere"), []);
  });

  it("setPredictions writes start and reason of waiting and held jobs only; a start clears the reason", async (s) => {
    const w = await s.insertJob(newJob(), submit());
    const h = await s.insertJob(newJob({ hold: true }), submit());
    const r = await s.insertJob(newJob(), submit());
    await s.updateJobs([schedule(r.id, "L-r")]);
    await s.setPredictions([
      { id: w.id, scheduledAt: T0 + 100, reason: "resources" },
      { id: h.id, scheduledAt: null, reason: "hold" },
      { id: r.id, scheduledAt: T0 + 999, reason: "priority" },
      { id: r.id + 1000, scheduledAt: T0, reason: "priority" },
    ]);
    await s.setPredictions([]);
    const got = await s.getJob(w.id);
    assert.equal(got?.scheduledAt, T0 + 100);
    assert.equal(got?.pendingReason, "resources");
    assert.equal((await s.getJob(h.id))?.pendingReason, "hold");
    const launched = await s.getJob(r.id);
    assert.equal(launched?.scheduledAt, T0 + 10, "a launching job keeps its own start");
    assert.equal(launched?.pendingReason, null);
    assert.deepEqual(await eventTypes(s, w.id), ["SUBMIT"], "no event for a prediction");
    const [started] = await s.updateJobs([schedule(w.id, "L-w")]);
    assert.equal(started?.pendingReason, null, "scheduling clears the reason");
  });
}
