// One timer per site for the next moment the plan changes by itself (a reservation's start):
// the pass runs then, not at the next periodic tick.

import type { Clock } from "../context.ts";

export class WakeTimers {
  readonly #clock: Clock;
  readonly #wake: (site: string) => void;
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #closed = false;

  constructor(clock: Clock, wake: (site: string) => void) {
    this.#clock = clock;
    this.#wake = wake;
  }

  /** Wake the site at `at` (UNIX seconds; Infinity: never), replacing any earlier wish. */
  at(site: string, at: number): void {
    const old = this.#timers.get(site);
    if (old && old.at === at) return;
    if (old) clearTimeout(old.timer);
    this.#timers.delete(site);
    if (!Number.isFinite(at) || this.#closed) return;
    // The clock is in seconds: wake just after the second starts so the pass sees `now >= at`.
    const ms = Math.min(2 ** 31 - 1, Math.max(0, (at - this.#clock.now()) * 1000 + 5));
    const timer = setTimeout(() => {
      this.#timers.delete(site);
      this.#wake(site);
    }, ms);
    // A pending wake-up never keeps a process alive on its own.
    timer.unref();
    this.#timers.set(site, { at, timer });
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
  }
}
