// The controller's inbox: one entry point for every fact, one reader (the controller). Facts
// are handed over in arrival order; posts made before the reader is attached wait for it.

import type { Fact, FactSink } from "./facts.ts";

export type FactHandler = (fact: Fact) => Promise<void>;

interface Waiting {
  fact: Fact;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Inbox implements FactSink {
  #handler: FactHandler | null = null;
  #early: Waiting[] = [];
  /** Facts taken in but not yet handled (for `settled`). */
  readonly #open = new Set<Promise<void>>();

  post(fact: Fact): Promise<void> {
    if (!this.#handler) {
      return new Promise<void>((resolve, reject) => this.#early.push({ fact, resolve, reject }));
    }
    const p = this.#handler(fact);
    this.#open.add(p);
    // Tracked, not awaited here: a caller that does not wait (a route after its commit) must not
    // see an unhandled rejection; the controller logs its own failures.
    void p.then(
      () => this.#open.delete(p),
      () => this.#open.delete(p),
    );
    return p;
  }

  /** The reader: one only (a site has one controller in a process). */
  read(handler: FactHandler): void {
    if (this.#handler) throw new Error("the inbox already has a reader");
    this.#handler = handler;
    const early = this.#early;
    this.#early = [];
    for (const w of early) this.post(w.fact).then(w.resolve, w.reject);
  }

  /** Resolves once every fact posted so far is handled. */
  async settled(): Promise<void> {
    while (this.#open.size > 0) await Promise.allSettled([...this.#open]);
  }
}
