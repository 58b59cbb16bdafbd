// capabilities.multiProcess at work, with real servers: one server per SQLite database (a second
// is refused, a killed one leaves no stale lock), several servers on one PostgreSQL database.

import assert from "node:assert/strict";
import { copyFileSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { lockForOneServer, StoreInUseError } from "../../src/store/one-server-lock.ts";
import { runCli, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { testDatabase } from "../helpers/test-postgres.ts";

test("the one-server lock: a second holder is refused with the first's pid; release frees it", () => {
  const path = join(tempDir(), "gridq.db.lock");
  const first = lockForOneServer(path, "the database x");
  // Another holder, even in this same process, is refused at once.
  assert.throws(
    () => lockForOneServer(path, "the database x"),
    (e: Error) =>
      e instanceof StoreInUseError &&
      e.message.startsWith("the database x is in use by another gridq server") &&
      e.message.includes(`pid ${process.pid} on ${hostname()}`),
  );
  assert.equal(statSync(path).mode & 0o777, 0o600);
  first.release();
  first.release(); // twice is harmless
  const second = lockForOneServer(path, "the database x");
  second.release();
});

const tokenOf = (home: string): string =>
  JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token;

test("sqlite: a second server on the same data folder refuses to start and names the first", async () => {
  const first = await startGridq();
  const env = { ...process.env, GRIDQ_HOME: first.home, GRIDQ_LOG_LEVEL: "warn" };
  const second = await runCli(["serve", "--port", "0"], env);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /gridq: the database .*gridq\.db is in use by another gridq server/);
  assert.match(second.stderr, new RegExp(`pid ${first.proc.pid} on `));
  assert.match(second.stderr, /use PostgreSQL \(db\.url\)/);
  // The first one was not disturbed.
  const client = new GridqClient({ url: first.url, credentials: { token: tokenOf(first.home) } });
  const j = await client.submitJob("local", { command: "true", hold: true });
  assert.equal((await client.getJob("local", j.uid)).state, "hold");

  // Killed without a chance to clean up, it leaves no stale lock: the next server starts.
  await first.stop("SIGKILL");
  const again = await startGridq({ home: first.home });
  const c2 = new GridqClient({ url: again.url, credentials: { token: tokenOf(first.home) } });
  assert.equal((await c2.getJob("local", j.uid)).state, "hold");
  await again.stop();
});

test("postgres: two servers share one database; each sees the other's jobs", async () => {
  const db = await testDatabase();
  const env = { GRIDQ_DB_URL: db.url };
  const a = await startGridq({ env });
  // Started after the first one's bootstrap: the admin account is in the database already.
  // Tokens are signed with the data folder's key: the second server is given the same one.
  const bHome = tempDir();
  copyFileSync(join(a.home, "jwt.key"), join(bHome, "jwt.key"));
  const b = await startGridq({ env, home: bHome });
  const token = tokenOf(a.home);
  const ca = new GridqClient({ url: a.url, credentials: { token } });
  const cb = new GridqClient({ url: b.url, credentials: { token } });
  const ja = await ca.submitJob("local", { command: "true", hold: true, name: "via-a" });
  const jb = await cb.submitJob("local", { command: "true", hold: true, name: "via-b" });
  assert.ok(jb.uid > ja.uid);
  assert.equal((await cb.getJob("local", ja.uid)).name, "via-a");
  assert.equal((await ca.getJob("local", jb.uid)).name, "via-b");
  // Nothing of the database in the data folders: no SQLite file, no lock.
  for (const home of [a.home, b.home]) {
    assert.throws(() => readFileSync(join(home, "gridq.db")), /ENOENT/);
    assert.throws(() => readFileSync(join(home, "gridq.db.lock")), /ENOENT/);
  }
  await Promise.all([a.stop(), b.stop()]);
  await db.drop();
});

test("postgres: an unreachable database is a clear error at start, the URL's password unprinted", async () => {
  const env = {
    ...process.env,
    GRIDQ_HOME: tempDir(),
    GRIDQ_LOG_LEVEL: "warn",
    GRIDQ_DB_URL: "postgres://gridq:hunter2@127.0.0.1:1/gridq",
  };
  const r = await runCli(["serve", "--port", "0"], env);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /gridq: .*ECONNREFUSED/);
  assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
});
