// Runs the store conformance suite on the SQLite engine, and checks inserts survive a SIGKILL.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Store } from "../../src/store/contract.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { newJob, type OpenedStore, runStoreConformance } from "./conformance.ts";

const keepAlways = Boolean(process.env.GRIDQ_KEEP_TEST_DATA);

/** A fresh database file in a temp folder of its own. */
async function openSqlite(): Promise<OpenedStore> {
  const dir = mkdtempSync(join(tmpdir(), "gridq-store-"));
  const path = join(dir, "gridq.db");
  const opened: Store[] = [];
  const openOne = async (): Promise<Store> => {
    const s = new SqliteStore(path);
    opened.push(s);
    return s;
  };
  const store = await openOne();
  await store.migrate();
  return {
    store,
    openSecond: openOne,
    async cleanup({ failed }) {
      for (const s of opened) await s.close();
      if (failed || keepAlways) console.error(`# store data kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

runStoreConformance("sqlite", openSqlite);

test("sqlite store: a job acknowledged by insertJob survives the process being killed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gridq-store-kill-"));
  const path = join(dir, "gridq.db");
  let ok = false;
  try {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "insert-jobs-child.ts"), path, "100000"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      child.on("exit", (code, signal) => res({ code, signal })),
    );
    // Kill it mid-way: once it has acknowledged a good number of inserts, not at a quiet moment.
    child.stdout.on("data", (d) => {
      out += d;
      if (out.split("\n").length > 300 && child.exitCode === null && !child.killed) child.kill("SIGKILL");
    });
    const { code, signal } = await exited;
    assert.equal(signal, "SIGKILL", `child exited ${code} before being killed: ${err}`);
    // Only complete lines are acknowledgements; a torn last line is not.
    const printed = out
      .split("\n")
      .slice(0, -1)
      .map((l) => Number(l));
    assert.ok(printed.length >= 300, `only ${printed.length} ids printed`);
    assert.ok(printed.length < 100000, "the child finished before it was killed");
    assert.ok(
      printed.every((id) => Number.isInteger(id) && id > 0),
      "stdout holds only ids",
    );

    const store = new SqliteStore(path);
    try {
      await store.migrate();
      const found = await store.listJobs({ ids: printed, offset: 0, limit: printed.length });
      const foundIds = new Set(found.items.map((j) => j.id));
      const missing = printed.filter((id) => !foundIds.has(id));
      assert.deepEqual(missing, [], `${missing.length} acknowledged jobs lost`);
      const events = await store.listEvents(printed);
      assert.equal(events.size, printed.length, "every acknowledged job has its SUBMIT event");
    } finally {
      await store.close();
    }
    ok = true;
  } finally {
    if (ok && !keepAlways) rmSync(dir, { recursive: true, force: true });
    else console.error(`# store data kept in ${dir}`);
  }
});

/** A child script started now; `go()` releases it once every child said ready. */
function startChild(args: string[]): { ready: Promise<void>; go: () => void; done: Promise<string> } {
  const p = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  p.stdout.on("data", (d) => {
    out += d;
    if (out.startsWith("ready\n")) ready();
  });
  p.stderr.on("data", (d) => (err += d));
  const done = new Promise<string>((res, rej) => {
    p.on("error", rej);
    p.on("close", (code) => {
      ready(); // never leave the parent waiting on a child that died early
      if (code === 0) res(out.slice("ready\n".length));
      else rej(new Error(`child exited ${code}: ${err}`));
    });
  });
  return { ready: isReady, go: () => p.stdin.end("go\n"), done };
}

test("sqlite store: two processes racing to schedule the same jobs: exactly one wins each", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gridq-store-race-"));
  const path = join(dir, "gridq.db");
  let ok = false;
  try {
    const n = 300;
    const store = new SqliteStore(path);
    await store.migrate();
    for (let i = 0; i < n; i++) await store.insertJob(newJob(), { at: i, description: "submitted" });
    const script = join(import.meta.dirname, "cas-race-child.ts");
    const children = ["A", "B"].map((lease) => startChild([script, path, lease, String(n), "notes"]));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    const [outA, outB] = (await Promise.all(children.map((c) => c.done))) as [string, string];
    const won = (out: string) =>
      new Set(
        out
          .trim()
          .split("\n")
          .filter((l) => l.endsWith(" won"))
          .map((l) => Number(l.split(" ")[0])),
      );
    const [a, b] = [won(outA), won(outB)];
    assert.equal(outA.trim().split("\n").length, n);
    assert.equal(outB.trim().split("\n").length, n);
    for (let id = 1; id <= n; id++) {
      assert.equal(Number(a.has(id)) + Number(b.has(id)), 1, `job ${id}: A ${a.has(id)}, B ${b.has(id)}`);
    }
    const jobs = (await store.listJobs({ offset: 0, limit: n })).items;
    const events = await store.listEvents(jobs.map((j) => j.id));
    for (const j of jobs) {
      const winner = a.has(j.id) ? "A" : "B";
      assert.equal(j.leaseId, winner, `job ${j.id}`);
      const log = events.get(j.id)!;
      assert.deepEqual(
        log.filter((e) => e.type === "SCHEDULE").map((e) => e.description),
        [`by ${winner}`],
        `job ${j.id}`,
      );
      assert.deepEqual(
        log
          .filter((e) => e.type === "NOTE")
          .map((e) => e.description)
          .sort(),
        ["A", "B"],
      );
    }
    await store.close();
    ok = true;
  } finally {
    if (ok && !keepAlways) rmSync(dir, { recursive: true, force: true });
    else console.error(`# store data kept in ${dir}`);
  }
});

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
