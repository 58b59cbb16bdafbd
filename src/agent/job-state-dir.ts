// The agent's state on local disk, so that jobs outlive an agent restart: one folder per lease
// with the lease, the started process and the final result until the server acknowledges it.
//
// Layout under the state dir (private to the agent, 0700):
//   jobs/<lease>/lease.json    the lease, written before the process is spawned
//   jobs/<lease>/started.json  {pid, procStart, at}, written right after the spawn (without
//                              it, recovery looks for the wrapper by its GRIDQ_LEASE_ID)
//   jobs/<lease>/result.json   the final report, kept until the server's `ack`
//   acked                      lease ids acknowledged lately: a late `run` is never run again
// and under the run dir (the agent's, 0711: job accounts reach their own entry, list nothing):
//   status/<lease>             the exit status (or `!why` it could not run), written by the
//                              job's wrapper shell; the file belongs to the job's account, the
//                              folder to the agent: a job can write its own status and nothing
//                              else (no symlink or FIFO where the agent reads, no file of the
//                              agent's, so a job cannot make the agent signal others)
//   nodefiles/<job id>         the job's node file (0644)

import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  closeSync,
  fchownSync,
  constants as fsc,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { JobReport, Lease } from "../protocol/agent-messages.ts";

export interface StartedRecord {
  pid: number;
  /** Start time of the pid in clock ticks since boot (/proc/PID/stat field 22), to detect reuse. */
  procStart: string | null;
  /** UNIX seconds. */
  at: number;
}

export interface StoredLease {
  lease: Lease;
  started: StartedRecord | null;
  result: JobReport | null;
}

/** Lease ids come from the server; they name folders, so only a safe alphabet is accepted. */
const LEASE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ACKED_KEEP = 2000;

export function isSafeLeaseId(id: string): boolean {
  return LEASE_ID.test(id);
}

const LEASE_FILES = ["lease.json", "started.json", "result.json"];
/** Status folders of earlier versions (status/<lease>/status, owned by the job's account). */
const LEGACY_STATUS_FILES = ["status", "status.why"];

/**
 * Read at most 1000 bytes of a file a job's account may write, as the agent: never through a
 * symlink, never blocking on a FIFO, never anything but a regular file.
 */
function readJobFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    // A status folder of an earlier version: its file inside (never followed either).
    if (st.isDirectory()) return readJobFile(join(path, "status"));
    if (!st.isFile()) return null;
    const buf = Buffer.alloc(1000);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * Remove a folder whose usual files are known: unlink them and the folder (a few syscalls),
 * falling back to a recursive removal when anything else is inside.
 */
function removeFolder(dir: string, files: readonly string[]): void {
  for (const f of files) rmSync(join(dir, f), { force: true });
  try {
    rmdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") rmSync(dir, { recursive: true, force: true });
  }
}

/** Write a file whole or not at all: a crash mid-write never leaves half a JSON behind. */
function writeAtomic(path: string, text: string, mode = 0o600): void {
  writeFileSync(`${path}.tmp`, text, { mode });
  renameSync(`${path}.tmp`, path);
}

/**
 * Create a folder the agent alone owns, or check an existing one is that (a real folder, not
 * a symlink, owned by the agent): under /tmp, someone else could have made it first.
 */
export function ownDir(path: string, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  const st = lstatSync(path);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new Error(`${path} is not a folder owned by this agent's account`);
  }
  chmodSync(path, mode);
}

/**
 * ownDir for a folder in a place others can write (/tmp): a root agent renames aside what
 * another account made there first (root may, even in a sticky folder) and makes its own, so
 * a planted folder cannot stop it from starting. Anyone else gets ownDir's error.
 */
export function claimDir(path: string, mode: number): void {
  try {
    ownDir(path, mode);
    return;
  } catch (e) {
    if (process.getuid?.() !== 0) throw e;
  }
  // An unguessable name: nobody can have put a non-empty folder there to make the rename fail.
  renameSync(path, `${path}.not-ours-${randomBytes(6).toString("hex")}`);
  ownDir(path, mode);
}

export class JobStateDir {
  readonly root: string;
  readonly runDir: string;
  readonly #acked: Set<string>;

  constructor(root: string, runDir: string) {
    this.root = root;
    this.runDir = runDir;
    ownDir(root, 0o700);
    ownDir(join(root, "jobs"), 0o700);
    // Traversable, not listable: a job's account reaches status/<its lease> and nothing else.
    claimDir(runDir, 0o711);
    ownDir(join(runDir, "status"), 0o711);
    ownDir(join(runDir, "nodefiles"), 0o755);
    this.#acked = new Set(this.#readAcked());
  }

  nodefilePath(jobId: number): string {
    return join(this.runDir, "nodefiles", String(jobId));
  }

  #readAcked(): string[] {
    try {
      return readFileSync(join(this.root, "acked"), "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  }

  #dir(leaseId: string): string {
    return join(this.root, "jobs", leaseId);
  }

  statusPath(leaseId: string): string {
    return join(this.runDir, "status", leaseId);
  }

  wasAcked(leaseId: string): boolean {
    return this.#acked.has(leaseId);
  }

  has(leaseId: string): boolean {
    try {
      readFileSync(join(this.#dir(leaseId), "lease.json"));
      return true;
    } catch {
      return false;
    }
  }

  /** Record a lease before running it; its status file belongs to the job's account. */
  saveLease(lease: Lease, owner: { uid: number; gid: number } | null): void {
    mkdirSync(this.#dir(lease.leaseId), { recursive: true, mode: 0o700 });
    const status = this.statusPath(lease.leaseId);
    // Lease ids are fresh, so the file is new but for a lease run again after a crash here:
    // only then is a stale status cleared. Made by the agent in its own folder (no job can put
    // anything there), then given to the job's account, which writes it.
    this.#removeStatus(lease.leaseId);
    const fd = openSync(status, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      if (owner) fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
    writeAtomic(join(this.#dir(lease.leaseId), "lease.json"), JSON.stringify(lease));
  }

  /** When the lease was recorded (just before its spawn), in UNIX seconds; null if unknown. */
  leaseSavedAt(leaseId: string): number | null {
    try {
      return statSync(join(this.#dir(leaseId), "lease.json")).mtimeMs / 1000;
    } catch {
      return null;
    }
  }

  /** Did the job's wrapper leave an exit status or a failure reason (it ran, and ended)? */
  hasOutcome(leaseId: string): boolean {
    return this.readStatus(leaseId) !== null || this.readFailure(leaseId) !== null;
  }

  #removeStatus(leaseId: string): void {
    const path = this.statusPath(leaseId);
    try {
      rmSync(path, { force: true });
    } catch {
      // A status folder of an earlier version (owned by the job's account): its usual files,
      // then the folder; anything else the job put inside is left, never removed recursively
      // by the agent in a folder a job controls.
      for (const f of LEGACY_STATUS_FILES) rmSync(join(path, f), { force: true });
      try {
        rmdirSync(path);
      } catch {
        // not empty: left in place
      }
    }
  }

  saveStarted(leaseId: string, s: StartedRecord): void {
    writeAtomic(join(this.#dir(leaseId), "started.json"), JSON.stringify(s));
  }

  saveResult(leaseId: string, r: JobReport): void {
    writeAtomic(join(this.#dir(leaseId), "result.json"), JSON.stringify(r));
  }

  /** The exit status the wrapper wrote, or null when it wrote none (killed with the job). */
  readStatus(leaseId: string): number | null {
    const s = readJobFile(this.statusPath(leaseId))?.trim() ?? "";
    return /^\d+$/.test(s) ? Number(s) : null;
  }

  /** Why the wrapper could not run the command (its folder or an output file), if so. */
  readFailure(leaseId: string): string | null {
    const s = readJobFile(this.statusPath(leaseId))?.trim() ?? "";
    return s.startsWith("!") ? s.slice(1).trim() || null : null;
  }

  /** Every lease on disk, for recovery after a restart. Damaged folders are skipped. */
  load(): StoredLease[] {
    const out: StoredLease[] = [];
    for (const id of readdirSync(join(this.root, "jobs"))) {
      if (!isSafeLeaseId(id)) continue;
      const read = <T>(f: string): T | null => {
        try {
          return JSON.parse(readFileSync(join(this.#dir(id), f), "utf8")) as T;
        } catch {
          return null;
        }
      };
      const lease = read<Lease>("lease.json");
      if (!lease) {
        rmSync(this.#dir(id), { recursive: true, force: true });
        continue;
      }
      out.push({
        lease,
        started: read<StartedRecord>("started.json"),
        result: read<JobReport>("result.json"),
      });
    }
    return out;
  }

  /** The server recorded the result: forget the lease, remember its id. */
  forget(leaseId: string): void {
    removeFolder(this.#dir(leaseId), LEASE_FILES);
    this.#removeStatus(leaseId);
    if (this.#acked.has(leaseId)) return;
    this.#acked.add(leaseId);
    const path = join(this.root, "acked");
    if (this.#acked.size > ACKED_KEEP * 2) {
      const keep = [...this.#acked].slice(-ACKED_KEEP);
      this.#acked.clear();
      for (const k of keep) this.#acked.add(k);
      writeAtomic(path, `${keep.join("\n")}\n`);
    } else {
      appendFileSync(path, `${leaseId}\n`, { mode: 0o600 });
    }
  }
}
