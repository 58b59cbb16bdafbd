// Starts a shell script as a job's Unix account, for jobs and `gridq exec` alike: uid, gid and
// supplementary groups, its own session, and the submitter's variables kept away from any
// process that still runs as root.

import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { UnixAccount } from "./unix-account.ts";

const SETPRIV = "/usr/bin/setpriv";
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Shell lines that put back the variables `hideFromRoot` renamed: every script started by
 * spawnAsAccount runs them before anything of the submitter's.
 */
export const RESTORE_ENV = `for __gridq_n in $__GRIDQ_ENV_NAMES; do
eval "export $__gridq_n=\\"\\$__GRIDQ_ENV_$__gridq_n\\"; unset __GRIDQ_ENV_$__gridq_n"
done
unset __GRIDQ_ENV_NAMES __gridq_n`;

/**
 * The submitter's variables, renamed for the way through a process that runs as root before it
 * switches to the job's account (setpriv): there, LD_PRELOAD, LD_DEBUG_OUTPUT, GCONV_PATH,
 * LOCPATH, LC_ALL=/path... would make the dynamic loader or libc load or write files as root.
 * The script, as the job's account, restores them (RESTORE_ENV). Names that are not shell
 * variable names are dropped (the server accepts none).
 */
export function hideFromRoot(env: Record<string, string>): Record<string, string> {
  const names = Object.keys(env).filter((n) => ENV_NAME.test(n));
  const out: Record<string, string> = { __GRIDQ_ENV_NAMES: names.join(" ") };
  for (const n of names) out[`__GRIDQ_ENV_${n}`] = env[n]!;
  return out;
}

/** What a job inherits from the agent's environment: the basics, never the agent's secrets. */
export function jobBaseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const keep = ["PATH", "LANG", "LC_ALL", "TZ", "HOME", "USER", "LOGNAME", "TMPDIR"];
  const out: Record<string, string> = { SHELL: "/bin/sh" };
  for (const k of keep) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}

export interface SpawnAsAccount {
  /** null: as the agent's own account. */
  account: UnixAccount | null;
  /** `sh -c script name ...args`. */
  script: string;
  args: string[];
  /** The agent's variables (PATH, LANG...); HOME, USER, LOGNAME become the account's. */
  baseEnv: Record<string, string>;
  /** The submitter's variables: they override the above, inside the script (see RESTORE_ENV). */
  userEnv: Record<string, string>;
  /** Variables the agent sets that the submitter cannot override (GRIDQ_JOB_ID...). */
  fixedEnv?: Record<string, string>;
  stdio: StdioOptions;
}

/**
 * Spawn `/bin/sh -c script` as the account, in a new session (its own process group, which
 * outlives this process), in `/` (the script enters its folder as the account: the spawn would
 * enter it as root, before the switch). Node's uid/gid options drop supplementary groups; for
 * an account that has some, setpriv (util-linux) sets them (initgroups) and then execs, so the
 * pid stays the script's. It costs one more exec, so only for accounts that need it.
 */
export function spawnAsAccount(o: SpawnAsAccount): ChildProcess {
  const { account } = o;
  const argv = ["-c", o.script, ...o.args];
  const viaSetpriv = account !== null && account.groups.length > 0 && existsSync(SETPRIV);
  const [file, args] = viaSetpriv
    ? [SETPRIV, [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--init-groups", "/bin/sh", ...argv]]
    : ["/bin/sh", argv];
  const who = account ? { HOME: account.home, USER: account.name, LOGNAME: account.name } : {};
  const fixed = o.fixedEnv ?? {};
  const user = Object.fromEntries(Object.entries(o.userEnv).filter(([k]) => !Object.hasOwn(fixed, k)));
  return spawn(file, args, {
    cwd: "/",
    detached: true,
    stdio: o.stdio,
    env: { ...o.baseEnv, ...who, ...(viaSetpriv ? hideFromRoot(user) : user), ...fixed },
    ...(account && !viaSetpriv ? { uid: account.uid, gid: account.gid } : {}),
  });
}
