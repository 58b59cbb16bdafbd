// Use case: the scheduling pass. Event-driven: every submission or finished run pokes it, and
// pokes arriving while a pass runs coalesce into one more pass.

import { randomUUID } from "node:crypto";
import type { JobRecord } from "../domain/job.ts";
import { eventName, transition } from "../domain/job-state.ts";
import { placeFirstComeFirstServed } from "../domain/placement.ts";
import type { ResourceRequest } from "../domain/resource-request.ts";
import type { JobUpdate } from "../store/contract.ts";
import type { ServiceDeps } from "./context.ts";
import { requestOf } from "./submit-job.ts";

/** What the scheduler needs from the agent side. */
export interface Dispatcher {
  connectedNodes(site: string): ReadonlySet<string>;
  dispatch(job: JobRecord): void;
}

export class Scheduler {
  readonly #deps: ServiceDeps;
  #dispatcher: Dispatcher | null = null;
  readonly #dirty = new Set<string>();
  #loop: Promise<void> | null = null;
  /** Parsed requests by job id: a waiting job is parsed once, not once per pass. */
  readonly #requests = new Map<number, ResourceRequest>();
  passes = 0;
  /** Seconds spent in scheduling passes, in total (for the server's Prometheus metrics). */
  passSeconds = 0;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  setDispatcher(d: Dispatcher): void {
    this.#dispatcher = d;
  }

  /** Ask for a pass over a site soon; cheap and safe to call often. */
  poke(site: string, o: { now?: boolean } = {}): void {
    this.#dirty.add(site);
    if (!this.#loop) {
      // Submissions wait one turn of the event loop so that a burst shares one pass; a caller
      // that just freed cores (`now`) starts the pass at once: an idle core is lost throughput.
      this.#loop = o.now
        ? Promise.resolve().then(() => this.#drain())
        : new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    }
  }

  /** Resolves once no pass is pending (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#dirty.size > 0) {
        const site = this.#dirty.values().next().value as string;
        this.#dirty.delete(site);
        try {
          const t0 = performance.now();
          await this.pass(site);
          this.passSeconds += (performance.now() - t0) / 1000;
        } catch (e) {
          this.#deps.log.error({ err: e, site }, "scheduling pass failed");
        }
      }
    } finally {
      this.#loop = null;
    }
  }

  async pass(site: string): Promise<void> {
    const d = this.#dispatcher;
    if (!d) return;
    this.passes++;
    const { store, clock } = this.#deps;
    const connected = d.connectedNodes(site);
    const nodes = this.#deps.nodes.nodes(site).filter((n) => connected.has(n.uid));
    if (nodes.length === 0) return;
    const busy = await store.listJobsInStates(site, ["launching", "running"], 1_000_000);
    const used = new Map<string, number>();
    for (const j of busy)
      for (const a of j.assignedNodes) used.set(a.node, (used.get(a.node) ?? 0) + a.cores);
    const freeCores = nodes.reduce((s, n) => s + Math.max(0, n.cores - (used.get(n.uid) ?? 0)), 0);
    if (freeCores === 0) return;
    // Every job needs at least one core, so no more than freeCores jobs can start now.
    const waiting = await store.listJobsInStates(site, ["waiting"], freeCores);
    const placements = placeFirstComeFirstServed(
      nodes,
      busy.map((j) => j.assignedNodes),
      waiting.map((j) => ({ id: j.id, request: this.#request(j) })),
    );
    if (placements.length === 0) return;
    const now = clock.now();
    const updates: JobUpdate[] = placements.map((p) => {
      const t = transition(
        { state: "waiting", leaseId: null, cancelRequested: false },
        { type: "schedule", at: now, nodes: p.nodes, leaseId: randomUUID() },
      );
      return {
        id: p.jobId,
        expect: { state: "waiting" },
        patch: t.patch,
        event: { at: now, type: eventName("schedule"), description: t.description },
      };
    });
    const results = await store.updateJobs(updates);
    for (const job of results) {
      if (!job) continue; // canceled or moved by another server between read and write
      this.#requests.delete(job.id);
      d.dispatch(job);
    }
  }

  #request(j: JobRecord): ResourceRequest {
    let r = this.#requests.get(j.id);
    if (!r) {
      r = requestOf(j.resources);
      if (this.#requests.size > 100_000) this.#requests.clear();
      this.#requests.set(j.id, r);
    }
    return r;
  }
}
