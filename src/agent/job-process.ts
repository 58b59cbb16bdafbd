// The pieces of a job's process: the wrapper shell that records its exit status, output files
// opened for it, signals to its group, and whether a recorded pid is still the job.

import { closeSync, fchownSync, constants as fsc, fstatSync, openSync } from "node:fs";
import { constants as osc } from "node:os";
import type { Lease } from "../protocol/agent-messages.ts";
import { procStartOf, procStateOf, type StartedRecord } from "./job-state-dir.ts";
import type { UnixAccount } from "./unix-account.ts";

/**
 * The wrapper, run as the job's account: opens the output files itself (so a job can never
 * make the agent create, append to or chown a file its account could not), runs the command,
 * then writes its exit status. The trap is set first: a stop arriving while the
 * wrapper starts is remembered and the command is not run (a stop landing between that check
 * and the command's start is only caught by the SIGKILL escalation). It is a handler, not
 * "ignore", so the command keeps default signal handling, and it keeps the wrapper alive on
 * SIGTERM to the group, to record the command's status; SIGKILL takes the wrapper too. No
 * forks but the command's (builtins only): a job costs one process more than the bare command.
 * The status needs no atomic rename: it is read only once the wrapper has exited.
 * Arguments: $1 command, $2 status file, $3 stdout path, $4 stderr path (empty: the agent
 * opened them, see Lease.agentOpensOutput).
 */
export const WRAPPER = `trap 'stopped=1' TERM INT HUP
fail() { echo "$1" > "$2.why"; exit 126; }
if [ -n "$3" ]; then
{ true >> "$3"; } 2>/dev/null || fail "cannot open output file $3 as $(id -un)" "$2"
{ true >> "$4"; } 2>/dev/null || fail "cannot open output file $4 as $(id -un)" "$2"
if [ "$3" = "$4" ]; then exec >> "$3" 2>&1; else exec >> "$3" 2>> "$4"; fi
fi
# The command runs in a forked subshell with no positional parameters, as under sh -c: a fork
# of this small shell, not a second shell started from scratch (a millisecond per job).
__gridq_cmd=$1
if [ -n "$stopped" ]; then s=143; else (set --; eval "$__gridq_cmd"); s=$?; fi
echo "$s" > "$2"
exit "$s"`;

/**
 * Open a job's output files for it (they lie in the server's jobs folder): a new file is created
 * for the account; an existing one must be a regular file it owns; a symlink is never followed.
 */
export function openOutputs(lease: Lease, account: UnixAccount | null): { out: number; err: number } {
  const open = (path: string): number => {
    let fd: number;
    try {
      fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND | fsc.O_NOFOLLOW, 0o644);
    } catch (e) {
      throw new Error(
        `cannot open output file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const st = fstatSync(fd);
    const uid = account?.uid ?? process.getuid?.();
    // Just created by us (owned by the agent, empty) or already the account's: anything else
    // (another account's file, a device) is not the job's to write.
    const ours = st.uid === process.getuid?.() && st.size === 0;
    if (!st.isFile() || (st.uid !== uid && !ours)) {
      closeSync(fd);
      throw new Error(`cannot open output file ${path}: it belongs to another account`);
    }
    if (account && st.uid !== account.uid) fchownSync(fd, account.uid, account.gid);
    return fd;
  };
  const out = open(lease.stdoutPath);
  try {
    return { out, err: lease.stderrPath === lease.stdoutPath ? out : open(lease.stderrPath) };
  } catch (e) {
    closeSync(out);
    throw e;
  }
}

/** Signal a whole process group; a group already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has no process left.
  }
}

/** Is this pid still the process we started (not gone, not reused)? */
export function alive(s: StartedRecord): boolean {
  try {
    process.kill(s.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A zombie has ended: its new parent (init, or a subreaper that is slow to reap) holds it.
  if (procStateOf(s.pid) === "Z") return false;
  const start = procStartOf(s.pid);
  return s.procStart === null || start === null || start === s.procStart;
}

export const signalName = (n: number): string | null =>
  (Object.entries(osc.signals).find(([, v]) => v === n)?.[0] as string | undefined) ?? null;
