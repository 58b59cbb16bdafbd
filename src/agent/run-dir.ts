// The agent's run folder: node files and exit statuses, where job accounts can reach them.

import { createHash } from "node:crypto";
import { rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Where job accounts find their node files and write their exit statuses: one folder per state
 * dir (two agents on one machine never share one), stable across restarts (adopted jobs write
 * there), under $TMPDIR because the state dir itself is private.
 */
export function defaultRunDir(stateDir: string): string {
  const hash = createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 12);
  return join(tmpdir(), `gridq-run-${process.getuid?.() ?? 0}-${hash}`);
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
