// Writes waiting jobs' predictions (start time, pending reason) after a pass: only the ones that
// changed since they were last written, since a pass over 10,000 jobs mostly repeats itself.

import type { JobRecord } from "../../domain/job.ts";
import type { Plan } from "../../domain/planner-types.ts";
import type { JobPrediction, Store } from "../../store/contract.ts";

export class PredictionWriter {
  readonly #store: Store;
  /** Predictions last written, by job id (`scheduledAt|reason`). */
  readonly #written = new Map<number, string>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** A job started: its next prediction (if it ever waits again) is news. */
  forget(id: number): void {
    this.#written.delete(id);
  }

  async write(plan: Plan, planned: ReadonlyMap<number, JobRecord>, waiting: number): Promise<void> {
    const predictions: JobPrediction[] = [];
    const started = new Set(plan.starts.map((s) => s.id));
    for (const jp of plan.jobs) {
      if (started.has(jp.id)) {
        this.#written.delete(jp.id);
        continue;
      }
      const key = `${jp.scheduledAt}|${jp.reason}`;
      if (this.#written.get(jp.id) === key) continue;
      this.#written.set(jp.id, key);
      predictions.push({ id: jp.id, scheduledAt: jp.scheduledAt, reason: jp.reason });
    }
    // Forget jobs no longer planned (ended, canceled) once the map grows past the queue.
    if (this.#written.size > waiting * 2 + 1000) {
      for (const id of this.#written.keys()) if (!planned.has(id)) this.#written.delete(id);
    }
    await this.#store.setPredictions(predictions);
  }
}
