// A user's own folder in the server's jobs folder (`$GRIDQ_HOME/jobs/<user>`), where jobs that
// name no directory run: made by the agent for the job's account (0700), the one folder the
// agent creates on a job's behalf, and only inside a folder no one else can write to.

import { lchownSync, lstatSync, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { UnixAccount } from "./unix-account.ts";

/**
 * The first folder from `dir` up to `/` that `who` cannot cross (its x bit for that account:
 * owner, group or others), or that is missing; null when all can be crossed. `who` null: any
 * other account (only the others' bit counts).
 */
export function uncrossedFolder(
  dir: string,
  who: Pick<UnixAccount, "uid" | "gid" | "groups"> | null,
): string | null {
  for (let d = dir; ; d = dirname(d)) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(d);
    } catch {
      return d;
    }
    const bit =
      who && st.uid === who.uid
        ? 0o100
        : who && (st.gid === who.gid || who.groups.includes(st.gid))
          ? 0o010
          : 0o001;
    if ((st.mode & bit) === 0) return d;
    if (d === "/" || d === ".") return null;
  }
}

/** Why jobs of other accounts cannot reach `jobsFolder` (for a warning at start), or null. */
export function jobsFolderUnreachable(jobsFolder: string): string | null {
  const blocked = uncrossedFolder(jobsFolder, null);
  if (blocked === null) return null;
  let mode = "missing";
  try {
    mode = `mode ${(statSync(blocked).mode & 0o7777).toString(8).padStart(4, "0")}`;
  } catch {
    // missing
  }
  return (
    `the jobs folder ${jobsFolder} is not reachable by other accounts: ${blocked} (${mode}) cannot be ` +
    "crossed by them, so jobs of users run as other accounts that name no directory fail; set " +
    "jobs.defaultDirectory (or GRIDQ_HOME) to a folder whose parents others can cross, e.g. " +
    "/var/lib/gridq/jobs, or make them crossable (chmod o+x)"
  );
}

/** Make `dir` for `account` (null: the agent's own), or check that it is already its own. */
export function prepareUserFolder(dir: string, account: UnixAccount | null): void {
  const me = process.getuid?.() ?? 0;
  const uid = account?.uid ?? me;
  const parent = dirname(dir);
  let p: ReturnType<typeof lstatSync>;
  try {
    p = lstatSync(parent);
  } catch {
    throw new Error(`the jobs folder ${parent} does not exist on this node`);
  }
  // Nobody but the agent may add or swap entries in the parent: what is checked below stays so.
  if (!p.isDirectory() || p.uid !== me || (p.mode & 0o022) !== 0) {
    throw new Error(
      `the jobs folder ${parent} must be a folder of the agent's account, writable by it alone`,
    );
  }
  // Under a folder the account cannot cross (a root server's data folder in /root, 0700), its
  // folder would be made for nothing: the wrapper could not enter it.
  const blocked = account ? uncrossedFolder(parent, account) : null;
  if (blocked !== null) {
    throw new Error(
      `the jobs folder ${parent} cannot be reached by ${account!.name}: ${blocked} is closed to it; ` +
        "name a directory for the job, or have the admin set jobs.defaultDirectory to a folder others can reach",
    );
  }
  let created = true;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new Error(`cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    created = false;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
  if (created && account) lchownSync(dir, account.uid, account.gid);
  else if (!created && st.uid !== uid) throw new Error(`${dir} belongs to another account`);
}
