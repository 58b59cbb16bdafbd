// The pieces of a job's process: the wrapper shell that enters its folder, opens its outputs
// and records its exit status as the job's account; signals to its group; is a pid still it.

import { constants as osc } from "node:os";
import type { StartedRecord } from "./job-state-dir.ts";
import { procStat } from "./proc.ts";
import { RESTORE_ENV } from "./spawn-as-account.ts";

/**
 * The wrapper, run as the job's account: sets the job's umask, enters the job's directory and
 * opens the output files itself, so a job never gets the agent's rights on any path (a root
 * agent never enters, creates, appends to or chowns anything for it); runs the command, then
 * writes its exit status. The trap is set first: a stop arriving while the
 * wrapper starts is remembered and the command is not run (a stop landing between that check
 * and the command's start is only caught by the SIGKILL escalation). It is a handler, not
 * "ignore", so the command keeps default signal handling, and it keeps the wrapper alive on
 * SIGTERM to the group, to record the command's status; SIGKILL takes the wrapper too. No
 * forks but the command's (builtins only): a job costs one process more than the bare command.
 * The status needs no atomic rename: it is read only once the wrapper has exited. Why the
 * command could not run is written to the same file after a `!`.
 * Arguments: $1 command, $2 status file, $3 directory, $4 stdout path, $5 stderr path, $6 umask.
 * Variables hidden by `hideFromRoot` (spawn-as-account.ts) are put back first.
 */
export const WRAPPER = `trap 'stopped=1' TERM INT HUP
${RESTORE_ENV}
fail() { echo "!$1" > "$2"; exit 126; }
umask "$6"
cd -- "$3" 2>/dev/null || fail "cannot enter directory $3 as $(id -un): it does not exist or the account may not enter it" "$2"
{ true >> "$4"; } 2>/dev/null || fail "cannot open output file $4 as $(id -un)" "$2"
{ true >> "$5"; } 2>/dev/null || fail "cannot open output file $5 as $(id -un)" "$2"
if [ "$4" = "$5" ]; then exec >> "$4" 2>&1; else exec >> "$4" 2>> "$5"; fi
# The command runs in a forked subshell with no positional parameters, as under sh -c: a fork
# of this small shell, not a second shell started from scratch (a millisecond per job).
__gridq_cmd=$1
if [ -n "$stopped" ]; then s=143; else (set --; eval "$__gridq_cmd"); s=$?; fi
echo "$s" > "$2"
exit "$s"`;

/** Is this pid still the process we started (not gone, not reused)? */
export function alive(s: StartedRecord): boolean {
  try {
    process.kill(s.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A zombie has ended: its new parent (init, or a subreaper that is slow to reap) holds it.
  const p = procStat(s.pid);
  if (p?.state === "Z") return false;
  return s.procStart === null || !p?.start || p.start === s.procStart;
}

export const signalName = (n: number): string | null =>
  (Object.entries(osc.signals).find(([, v]) => v === n)?.[0] as string | undefined) ?? null;
