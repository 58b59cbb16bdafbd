// The agent's run folder: node files and exit statuses, where job accounts can reach them.

import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Where a root agent keeps its run folders: /run is root's, so no other account plants there. */
export const ROOT_RUN_PARENT = "/run/gridq";

/**
 * Where job accounts find their node files and write their exit statuses: one folder per state
 * dir (two agents on one machine never share one), stable across restarts (adopted jobs write
 * there), outside the state dir because that one is private. A root agent uses
 * /run/gridq/<hash> (created 0711 by root): under /tmp, any local user could make the folder
 * first. Elsewhere (not root, or /run not writable) $TMPDIR/gridq-run-<uid>-<hash>, where a
 * root agent renames aside a folder it did not make (JobStateDir).
 */
export function defaultRunDir(stateDir: string, rootParent = ROOT_RUN_PARENT): string {
  const hash = createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 12);
  const uid = process.getuid?.() ?? 0;
  if (uid === 0 && rootOwnedParent(rootParent)) return join(rootParent, hash);
  return join(tmpdir(), `gridq-run-${uid}-${hash}`);
}

/** Make `dir` (its parent must exist) a root-owned 0711 folder, or say it cannot be. */
function rootOwnedParent(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") return false;
  }
  try {
    const st = lstatSync(dir);
    // Not writable by others: only root can create (or plant) a folder in it.
    return st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Remove a run folder if no job uses it any more (a stop leaves running jobs their folder). */
export function removeRunDirIfEmpty(runDir: string): void {
  for (const d of [join(runDir, "status"), join(runDir, "nodefiles"), runDir]) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty: a job still uses it
    }
  }
}
