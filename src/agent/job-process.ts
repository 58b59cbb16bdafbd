// The pieces of a job's process: the wrapper shell that enters its folder, opens its outputs
// and records its exit status as the job's account; signals to its group; is a pid still it.

import { constants as osc } from "node:os";
import { procStartOf, procStateOf, type StartedRecord } from "./job-state-dir.ts";

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
 * Variables hidden by `hideFromRoot` are put back first.
 */
export const WRAPPER = `trap 'stopped=1' TERM INT HUP
for __gridq_n in $__GRIDQ_ENV_NAMES; do
eval "export $__gridq_n=\\"\\$__GRIDQ_ENV_$__gridq_n\\"; unset __GRIDQ_ENV_$__gridq_n"
done
unset __GRIDQ_ENV_NAMES __gridq_n
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

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The submitter's variables, renamed for the way through a process that runs as root before it
 * switches to the job's account (setpriv): there, LD_PRELOAD, LD_DEBUG_OUTPUT, GCONV_PATH,
 * LOCPATH, LC_ALL=/path... would make the dynamic loader or libc load or write files as root.
 * The wrapper, as the job's account, restores them (`__GRIDQ_ENV_NAMES` lists them). Names
 * that are not shell variable names are dropped (the server accepts none).
 */
export function hideFromRoot(env: Record<string, string>): Record<string, string> {
  const names = Object.keys(env).filter((n) => ENV_NAME.test(n));
  const out: Record<string, string> = { __GRIDQ_ENV_NAMES: names.join(" ") };
  for (const n of names) out[`__GRIDQ_ENV_${n}`] = env[n]!;
  return out;
}

/** Signal a whole process group; a group already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has no process left.
  }
}

/**
 * Signal the process group a job's leader made, unless the leader's pid now names another
 * process (reused: its group, if any, is someone else's, and a root agent must not kill it).
 * A group whose leader is gone keeps its id while members remain (Linux gives no new process
 * an id still used by a group), so signalling it still reaches only the job's processes.
 */
export function killJobGroup(s: Pick<StartedRecord, "pid" | "procStart">, signal: NodeJS.Signals): void {
  const start = procStartOf(s.pid);
  if (start !== null && s.procStart !== null && start !== s.procStart) return;
  killGroup(s.pid, signal);
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
