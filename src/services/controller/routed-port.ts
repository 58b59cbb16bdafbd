// The controller's port when several servers share the store: a node whose agent is connected
// here is reached through this server's hub at once; any other node through the store, as a
// message (`agent_messages`) that the server holding its connection delivers on its next tick.
// Output reads and execs are streams: a node held by another server is answered 503 naming it.

import type { Readable } from "node:stream";
import { GridqError } from "../../domain/errors.ts";
import type { JobRecord } from "../../domain/job.ts";
import type { AgentMessage } from "../../store/contract.ts";
import type { ServiceDeps } from "../context.ts";
import type { AgentPort, ExecRequest, LeaseRef, ReadRequest, ReadResult } from "./agent-port.ts";

/** Where a node's agent is held when not here (the liveness sweep learns it from the store). */
export interface Holders {
  /** Nodes of the site whose agent another server holds. */
  elsewhere(site: string): string[];
  /** The other server holding a node's agent, if any. */
  holder(node: string): string | undefined;
}

export class RoutedPort implements AgentPort {
  readonly #deps: ServiceDeps;
  readonly #local: AgentPort;
  readonly #holders: Holders;
  /** Messages for the store, written together at the end of this turn of the event loop. */
  #pending: AgentMessage[] = [];
  #flushing: Promise<void> | null = null;
  readonly #sites = new Map<string, string>();

  constructor(deps: ServiceDeps, o: { local: AgentPort; holders: Holders }) {
    this.#deps = deps;
    this.#local = o.local;
    this.#holders = o.holders;
  }

  /** Nodes connected here, or to another server that still hears them: the leader plans onto all. */
  connected(site: string): ReadonlySet<string> {
    const here = this.#local.connected(site);
    const there = this.#holders.elsewhere(site);
    if (there.length === 0) return here;
    return new Set([...here, ...there]);
  }

  /** The site of a node (the platform description may change: looked up again on a miss). */
  #siteOf(node: string): string {
    let site = this.#sites.get(node);
    if (site === undefined) {
      this.#sites.clear();
      for (const s of this.#deps.nodes.sites())
        for (const n of this.#deps.nodes.nodes(s)) this.#sites.set(n.uid, s);
      site = this.#sites.get(node);
    }
    return site ?? "";
  }

  #here(node: string | undefined): boolean {
    return node !== undefined && this.#local.connected(this.#siteOf(node)).has(node);
  }

  #queue(m: Omit<AgentMessage, "at">): void {
    this.#pending.push({ ...m, at: this.#deps.clock.now() });
    // A burst (a pass starting many jobs) is one write; calls keep their order in it.
    this.#flushing ??= Promise.resolve().then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#flushing = null;
    try {
      await this.#deps.store.queueAgentMessages(batch);
    } catch (e) {
      // Lost: a run is sent again when its agent next says hello (reconcile), and a cancel too;
      // the job of a node nobody reaches ends when the node is declared dead.
      this.#deps.log.error({ err: e, messages: batch.length }, "queueing messages for agents failed");
    }
  }

  /** Resolves once every message queued so far is in the store (tests, shutdown). */
  async flushed(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  run(job: JobRecord): void {
    const node = job.assignedNodes[0]?.node;
    if (this.#here(node) || node === undefined) {
      this.#local.run(job);
      return;
    }
    this.#queue({ node, site: job.site, kind: "run", jobId: job.id, leaseId: job.leaseId, reason: null });
  }

  kill(lease: LeaseRef, reason: string): void {
    if (this.#here(lease.node)) {
      this.#local.kill(lease, reason);
      return;
    }
    const site = this.#siteOf(lease.node);
    this.#queue({ node: lease.node, site, kind: "kill", jobId: lease.jobId, leaseId: lease.leaseId, reason });
  }

  walltime(job: JobRecord): void {
    const node = job.assignedNodes[0]?.node;
    if (this.#here(node) || node === undefined) {
      this.#local.walltime(job);
      return;
    }
    this.#queue({
      node,
      site: job.site,
      kind: "walltime",
      jobId: job.id,
      leaseId: job.leaseId,
      reason: null,
    });
  }

  endExecs(node: string, jobId: number): void {
    if (this.#here(node)) {
      this.#local.endExecs(node, jobId);
      return;
    }
    const site = this.#siteOf(node);
    this.#queue({ node, site, kind: "exec-kill", jobId, leaseId: null, reason: null });
  }

  /** A stream cannot go through the store: a node held by another server is a 503 naming it. */
  #refuseIfElsewhere(node: string, what: string): void {
    const holder = this.#holders.holder(node);
    if (holder === undefined) return;
    throw new GridqError(
      "GRIDQ_UNAVAILABLE",
      `node ${node}'s agent is connected to server ${holder}, not to this one: ${what} through that server`,
    );
  }

  async readOutput(node: string, r: ReadRequest): Promise<ReadResult> {
    if (this.#here(node)) return this.#local.readOutput(node, r);
    this.#refuseIfElsewhere(node, `read job ${r.jobId}'s output`);
    return "unreachable";
  }

  exec(node: string, r: ExecRequest): Readable | null {
    if (this.#here(node)) return this.#local.exec(node, r);
    this.#refuseIfElsewhere(node, `run gridq exec for job ${r.jobId}`);
    return null;
  }
}
