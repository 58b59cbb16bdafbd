// Recovery of a job whose agent died between spawning it and recording its start
// (started.json): its wrapper is found by the lease id in its environment, checked to run as the
// lease's account, and recorded as started, so the next agent follows it like any other.

import { readdirSync, readFileSync } from "node:fs";
import type { Lease } from "../protocol/agent-messages.ts";
import type { JobStateDir, StartedRecord, StoredLease } from "./job-state-dir.ts";
import { procStat } from "./proc.ts";
import type { UnixAccount } from "./unix-account.ts";

/** The environment variable naming a job's lease in its wrapper's environment (see findLeaseProcesses). */
export const LEASE_MARKER = "GRIDQ_LEASE_ID";

export interface FoundProcess {
  pid: number;
  /** Real uid of the process. */
  uid: number;
  procStart: string | null;
}

/**
 * The session leaders carrying `GRIDQ_LEASE_ID=<one of ids>` in their environment: a job's wrapper
 * is spawned detached (its own session) with its lease id there. Several processes may carry one
 * id (a job can start sessions of its own): all are returned, the caller picks. Environments of
 * other accounts are readable only by root; a non-root agent, whose jobs run as itself, reads its
 * own. Rare (a crash at that instant), so a whole scan of /proc is affordable.
 */
function findLeaseProcesses(ids: ReadonlySet<string>): Map<string, FoundProcess[]> {
  const found = new Map<string, FoundProcess[]>();
  if (ids.size === 0) return found;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found; // no /proc: nothing to find
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const p = procStat(d);
      // Only a live session leader can be a job's wrapper.
      if (!p || p.session !== d || p.state === "Z") continue;
      const entry = readFileSync(`/proc/${d}/environ`, "latin1")
        .split("\0")
        .find((e) => e.startsWith(`${LEASE_MARKER}=`));
      const id = entry?.slice(LEASE_MARKER.length + 1);
      if (id === undefined || !ids.has(id)) continue;
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, "utf8"));
      if (!uid) continue;
      const list = found.get(id) ?? [];
      list.push({ pid: Number(d), uid: Number(uid[1]), procStart: p.start });
      found.set(id, list);
    } catch {
      // Gone meanwhile, or another account's process (EACCES): not ours.
    }
  }
  return found;
}

/**
 * Started records for the stored leases that have neither a start nor a result but whose wrapper
 * still runs as the lease's account (a process of another account could carry any marker: it is
 * never taken for the job). Each is saved, so a further restart needs no scan.
 */
export function findUnrecordedStarts(
  disk: JobStateDir,
  stored: readonly StoredLease[],
  accountFor: (lease: Pick<Lease, "user">) => UnixAccount | null | { refused: string },
): Map<string, StartedRecord> {
  const byId = new Map(stored.filter((s) => !s.result && !s.started).map((s) => [s.lease.leaseId, s.lease]));
  const out = new Map<string, StartedRecord>();
  for (const [id, candidates] of findLeaseProcesses(new Set(byId.keys()))) {
    const account = accountFor(byId.get(id)!);
    const uid = account === null ? process.getuid?.() : "refused" in account ? undefined : account.uid;
    // The wrapper started first: any other carrier of its marker was started by it, or by
    // someone who read the marker from it afterwards.
    const p = candidates
      .filter((c) => c.uid === uid)
      .sort((x, y) => Number(x.procStart ?? Infinity) - Number(y.procStart ?? Infinity))[0];
    if (uid === undefined || !p) continue;
    // The walltime counts from the lease's recording, a moment before the spawn.
    const started = { pid: p.pid, procStart: p.procStart, at: disk.leaseSavedAt(id) ?? Date.now() / 1000 };
    try {
      disk.saveStarted(id, started);
    } catch {
      // Followed from memory; another restart would find it the same way.
    }
    out.set(id, started);
  }
  return out;
}
