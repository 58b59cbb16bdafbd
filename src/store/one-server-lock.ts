// One server per single-process store: an OS file lock (taken through SQLite) that a second
// server on the same database cannot get. The OS drops it when the holder dies, even by SIGKILL,
// so a lock is never stale; the holder's pid, host and start are kept in the lock file.

import { randomUUID } from "node:crypto";
import { chmodSync } from "node:fs";
import { hostname } from "node:os";
import { DatabaseSync } from "node:sqlite";

/** Another live server holds the lock. */
export class StoreInUseError extends Error {}

export interface OneServerLock {
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  since: number;
  token: string;
}

const isBusy = (e: unknown): boolean => /SQLITE_BUSY|database is locked/i.test(String((e as Error)?.message));

/**
 * Take the lock of `path` (a small file of its own, e.g. beside the database) for this process
 * until `release`; throws StoreInUseError naming the holder when another server has it.
 * `what` names the guarded thing in the message.
 */
export function lockForOneServer(path: string, what: string): OneServerLock {
  // timeout 0: a held lock answers at once instead of waiting for a server that will not stop.
  const db = new DatabaseSync(path, { timeout: 0 });
  chmodSync(path, 0o600);
  const me: Holder = { pid: process.pid, host: hostname(), since: Date.now() / 1000, token: randomUUID() };
  const holder = (): Holder | undefined => {
    try {
      return db.prepare("SELECT pid, host, since, token FROM holder").get() as Holder | undefined;
    } catch {
      return undefined; // no table yet, or the holder is committing right now
    }
  };
  const inUse = (): StoreInUseError => {
    const h = holder();
    db.close();
    const who = h
      ? `pid ${h.pid} on ${h.host}, since ${new Date(h.since * 1000).toISOString()}`
      : "starting now";
    return new StoreInUseError(
      `${what} is in use by another gridq server (${who}; lock file ${path}). ` +
        "This store allows one server: stop the other one, or use PostgreSQL (db.url) to run several servers.",
    );
  };
  const begin = (): boolean => {
    try {
      db.exec("BEGIN IMMEDIATE");
      return true;
    } catch (e) {
      if (isBusy(e)) return false;
      throw e;
    }
  };
  // The lock is the write lock of an open transaction. Its holder's details must be committed
  // to be readable, so: take the lock, write them, commit, take the lock again, and check that
  // nobody wrote in between (another starter may have); if someone did, start over.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!begin()) throw inUse();
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER, host TEXT, since REAL, token TEXT)");
    db.exec("DELETE FROM holder");
    db.prepare("INSERT INTO holder (pid, host, since, token) VALUES (?, ?, ?, ?)").run(
      me.pid,
      me.host,
      me.since,
      me.token,
    );
    db.exec("COMMIT");
    if (!begin()) throw inUse();
    if (holder()?.token === me.token) {
      return {
        release() {
          if (!db.isOpen) return;
          db.exec("ROLLBACK");
          db.close();
        },
      };
    }
    db.exec("ROLLBACK");
  }
  throw inUse();
}
