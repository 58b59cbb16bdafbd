// A user's own folder in the server's jobs folder (`$GRIDQ_HOME/jobs/<user>`), where jobs that
// name no directory run: made by the agent for the job's account (0700), the one folder the
// agent creates on a job's behalf, and only inside a folder no one else can write to.

import { lchownSync, lstatSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { UnixAccount } from "./unix-account.ts";

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
