// Store tests with several processes, for every engine: acknowledged inserts survive a SIGKILL
// of the writer; two processes racing compare-and-sets on the same jobs win exactly one each.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { type FreshDatabase, newJob } from "./conformance.ts";
import { openSpec } from "./store-spec.ts";

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

export function runProcessTests(name: string, fresh: () => Promise<FreshDatabase>): void {
  test(`${name} store: a job acknowledged by insertJob survives the process being killed`, async () => {
    const db = await fresh();
    let ok = false;
    try {
      const child = spawn(
        process.execPath,
        [join(import.meta.dirname, "insert-jobs-child.ts"), db.spec, "100000"],
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

      const store = openSpec(db.spec);
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
      await db.cleanup({ failed: !ok });
    }
  });

  test(`${name} store: two processes racing to schedule the same jobs: exactly one wins each`, async () => {
    const db = await fresh();
    let ok = false;
    try {
      const n = 300;
      const store = openSpec(db.spec);
      await store.migrate();
      for (let i = 0; i < n; i++) await store.insertJob(newJob(), { at: i, description: "submitted" });
      const script = join(import.meta.dirname, "cas-race-child.ts");
      const children = ["A", "B"].map((lease) => startChild([script, db.spec, lease, String(n), "notes"]));
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
      await db.cleanup({ failed: !ok });
    }
  });
}

export function runCrossedUpdatesTest(name: string, fresh: () => Promise<FreshDatabase>): void {
  test(`${name} store: two processes updating the same jobs in opposite orders both finish`, async () => {
    const db = await fresh();
    let ok = false;
    try {
      const n = 20;
      const rounds = 30;
      const store = openSpec(db.spec);
      await store.migrate();
      for (let i = 0; i < n; i++) await store.insertJob(newJob(), { at: i, description: "submitted" });
      const script = join(import.meta.dirname, "crossed-updates-child.ts");
      const children = ["forwards", "backwards"].map((order) =>
        startChild([script, db.spec, order, String(n), String(rounds)]),
      );
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      // A deadlock would fail one child's transaction (PostgreSQL aborts one of the two).
      const outs = await Promise.all(children.map((c) => c.done));
      assert.deepEqual(outs, ["done\n", "done\n"]);
      const events = await store.listEvents(Array.from({ length: n }, (_, i) => i + 1));
      for (const [id, log] of events) assert.equal(log.length, 1 + 2 * rounds, `job ${id}`);
      await store.close();
      ok = true;
    } finally {
      await db.cleanup({ failed: !ok });
    }
  });
}

export function runConcurrentMigrationTest(
  name: string,
  fresh: () => Promise<FreshDatabase>,
  latest: number,
): void {
  test(`${name} store: two servers migrating one empty database at once both start, on one schema`, async () => {
    const db = await fresh();
    let ok = false;
    try {
      const script = join(import.meta.dirname, "migrate-child.ts");
      const children = [1, 2, 3].map(() => startChild([script, db.spec]));
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      assert.deepEqual(await Promise.all(children.map((c) => c.done)), Array(3).fill(`${latest}\n`));
      const store = openSpec(db.spec);
      await store.migrate();
      const j = await store.insertJob(newJob(), { at: 1, description: "submitted" });
      assert.equal(j.id, 1);
      await store.close();
      ok = true;
    } finally {
      await db.cleanup({ failed: !ok });
    }
  });
}
