// What /proc says about a process (Linux): its state, session and start time; and signals to a
// process group, guarded against a pid that now names another process.

import { readFileSync } from "node:fs";

export interface ProcStat {
  /** R, S, Z... (field 3). */
  state: string;
  /** Session id (field 6). */
  session: string;
  /** Start time in clock ticks since boot (field 22): with the pid, names one process. */
  start: string | null;
}

/** /proc/PID/stat parsed, or null (gone, or no /proc). */
export function procStat(pid: number | string): ProcStat | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: f[0] ?? "", session: f[3] ?? "", start: f[19] ?? null };
}

/** A pid's start time, or null where /proc does not say (gone, or no /proc). */
export const procStartOf = (pid: number): string | null => procStat(pid)?.start ?? null;

/** Signal a whole process group; a group already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has no process left.
  }
}

/**
 * Signal the process group a leader made, unless the leader's pid now names another process
 * (reused: its group, if any, is someone else's, and a root agent must not kill it). A group
 * whose leader is gone keeps its id while members remain (Linux gives no new process an id
 * still used by a group), so signalling it still reaches only the leader's processes.
 */
export function killOwnGroup(s: { pid: number; procStart: string | null }, signal: NodeJS.Signals): void {
  const start = procStartOf(s.pid);
  if (start !== null && s.procStart !== null && start !== s.procStart) return;
  killGroup(s.pid, signal);
}
