// A node's soft state and slots for the status API (Grid'5000 `/status`, OAR's resource states).

import type { RunningJob } from "./planner-types.ts";

export type HardState = "alive" | "absent" | "suspected" | "dead" | "standby";

export interface NodeSlots {
  /** `free`, `busy`, `free_busy` (at most half the cores busy), `busy_free` (more than half),
   * each suffixed `_besteffort` when besteffort jobs hold cores; `unknown` when dead. */
  soft: string;
  free_slots: number;
  /** Cores held by normal jobs. */
  busy_slots: number;
  /** Cores held by besteffort jobs (freed by preemption when a normal job needs them). */
  freeable_slots: number;
}

/**
 * Slots of node `uid` with `cores` cores given the jobs holding cores (`launching`/`running`).
 * As the Grid'5000 API computes them: free = cores - busy, freeable = besteffort cores,
 * busy_slots = busy - besteffort; everything 0 and `unknown` for a dead node.
 */
export function nodeSlots(
  uid: string,
  cores: number,
  hard: HardState,
  running: readonly RunningJob[],
): NodeSlots {
  if (hard === "dead") return { soft: "unknown", free_slots: 0, busy_slots: 0, freeable_slots: 0 };
  let busy = 0;
  let besteffort = 0;
  for (const r of running) {
    for (const n of r.nodes) {
      if (n.uid !== uid) continue;
      busy += n.cores;
      if (r.besteffort) besteffort += n.cores;
    }
  }
  busy = Math.min(busy, cores);
  besteffort = Math.min(besteffort, busy);
  const base = busy === 0 ? "free" : busy >= cores ? "busy" : busy * 2 <= cores ? "free_busy" : "busy_free";
  return {
    soft: besteffort > 0 ? `${base}_besteffort` : base,
    free_slots: cores - busy,
    busy_slots: busy - besteffort,
    freeable_slots: besteffort,
  };
}
