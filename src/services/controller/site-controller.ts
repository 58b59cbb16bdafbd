// The site controller: reads the inbox, decides, and acts only through the AgentPort. Facts in
// (submitted, canceled, report, agentLost, tick...); out: starts, kills, walltimes, and store rows.
// Queries for the API (walltime grants, planned nodes, node status) are answered from its state.

import type { NodeCores } from "../../domain/planner-types.ts";
import type { ServiceDeps } from "../context.ts";
import { type AgentPort, headLease } from "./agent-port.ts";
import type { Fact } from "./facts.ts";
import type { Inbox } from "./inbox.ts";
import type { Leadership } from "./leadership.ts";
import { failJobsOnDeadNodes, reconcileAgent } from "./node-events.ts";
import type { NodeLiveness, NodeStatus } from "./node-liveness.ts";
import { PlanningPass } from "./planning-pass.ts";
import { type Folded, ReportFolding } from "./report-folding.ts";

export interface SiteControllerWiring {
  inbox: Inbox;
  port: AgentPort;
  liveness: NodeLiveness;
  leadership: Leadership;
}

export class SiteController {
  readonly #deps: ServiceDeps;
  readonly #port: AgentPort;
  readonly #liveness: NodeLiveness;
  readonly #leadership: Leadership;
  readonly #planning: PlanningPass;
  readonly #reports: ReportFolding;
  readonly #inbox: Inbox;
  #tick: Promise<void> | null = null;
  /** When time alone last made every site plan again (`scheduler.passInterval`). */
  #lastPeriodic: number;

  constructor(deps: ServiceDeps, wiring: SiteControllerWiring) {
    this.#deps = deps;
    this.#port = wiring.port;
    this.#liveness = wiring.liveness;
    this.#leadership = wiring.leadership;
    this.#inbox = wiring.inbox;
    this.#lastPeriodic = deps.clock.now();
    this.#planning = new PlanningPass(deps, {
      port: wiring.port,
      leadership: wiring.leadership,
      reachable: (site) => this.reachable(site),
    });
    this.#reports = new ReportFolding(deps, (f) => this.#recorded(f));
    wiring.inbox.read((fact) => this.#handle(fact));
  }

  #handle(f: Fact): Promise<void> {
    switch (f.type) {
      case "submitted":
        for (const job of f.jobs) this.#planning.submitted(job);
        return Promise.resolve();
      case "canceled": {
        const lease = f.kill === null ? null : headLease(f.job);
        if (lease) this.#port.kill(lease, f.kill!);
        // A waiting job gone may let others start earlier; predictions change anyway.
        this.#planning.poke(f.job.site);
        return Promise.resolve();
      }
      case "held":
      case "resumed":
        this.#planning.poke(f.job.site);
        return Promise.resolve();
      case "walltimeChanged":
        if (f.job.state === "launching" || f.job.state === "running") this.#port.walltime(f.job);
        this.#planning.poke(f.job.site);
        return Promise.resolve();
      case "report":
        return this.#reports.add(f.report);
      case "agentConnected":
        return reconcileAgent(this.#deps, this.#port, f.site, f.node, f.known).then(
          () => this.#planning.poke(f.site),
          (e: unknown) => this.#deps.log.error({ err: e, node: f.node }, "reconciling agent failed"),
        );
      case "agentLost":
        // The node leaves the plan: predictions (and what may start) change.
        this.#planning.poke(f.site);
        return Promise.resolve();
      case "tick":
        return this.#onTick(f.nodesChanged === true);
    }
  }

  /** Recorded reports: ended jobs free their cores at once; their execs end; sites plan again. */
  #recorded(f: Folded): void {
    for (const job of f.finals) for (const a of job.assignedNodes) this.#port.endExecs(a.node, job.id);
    for (const job of f.ended) this.#planning.ended(job);
    for (const s of f.sites) this.#planning.poke(s, { now: true });
  }

  #onTick(nodesChanged: boolean): Promise<void> {
    // Ticks overlapping a slow sweep share it rather than queue behind it.
    this.#tick ??= this.#sweep(nodesChanged).finally(() => {
      this.#tick = null;
    });
    return this.#tick;
  }

  async #sweep(nodesChanged: boolean): Promise<void> {
    const sites = this.#deps.nodes.sites();
    // A site just taken over is planned at once, from the store (the last leader's plan is gone).
    for (const site of await this.#leadership.renew(sites)) this.#planning.poke(site, { now: true });
    for (const site of sites) {
      try {
        const dead = await this.#liveness.sweep(site);
        // Only the site's leader ends jobs: a server that does not hear a node is not proof.
        if (dead.length === 0 || !this.#leadership.leads(site)) continue;
        if ((await failJobsOnDeadNodes(this.#deps, this.#port, site, dead)) > 0) this.#planning.poke(site);
      } catch (e) {
        this.#deps.log.error({ err: e, site }, "judging node liveness failed");
      }
    }
    // Time passing changes the plan too (predictions, reservations coming due).
    const now = this.#deps.clock.now();
    const every = this.#deps.config.scheduler.passInterval;
    if (nodesChanged || (every > 0 && now - this.#lastPeriodic >= every)) {
      this.#lastPeriodic = now;
      for (const site of sites) this.#planning.poke(site);
    }
  }

  /** Nodes of a site that can take work now: connected, and not silent. */
  reachable(site: string): ReadonlySet<string> {
    const out = new Set<string>();
    for (const node of this.#port.connected(site)) if (this.#liveness.state(node) === "alive") out.add(node);
    return out;
  }

  nodeStatus(site: string): NodeStatus[] {
    return this.#liveness.list(
      this.#deps.nodes.nodes(site).map((n) => n.uid),
      this.#port.connected(site),
    );
  }

  /**
   * Seconds that running job `id` may run longer without delaying any job of the last plan, at
   * most `requested` (null: the job is not running on this site).
   */
  grantable(site: string, id: number, requested: number): Promise<number | null> {
    return this.#planning.grantable(site, id, requested);
  }

  /** Planned nodes of waiting jobs in the site's last pass (for the status API). */
  plannedNodes(site: string): ReadonlyMap<number, readonly NodeCores[]> {
    return this.#planning.plannedNodes(site);
  }

  /** Passes run and seconds spent in them (the server's Prometheus metrics). */
  get passes(): number {
    return this.#planning.passes;
  }

  get passSeconds(): number {
    return this.#planning.passSeconds;
  }

  /** Resolves once every fact posted so far is handled and no pass is pending. */
  async idle(): Promise<void> {
    // Reports and ticks poke passes as they are handled: passes are awaited last.
    await this.#inbox.settled();
    await this.#reports.settled();
    while (this.#tick) await this.#tick;
    await this.#planning.idle();
  }

  /** No more passes (shutdown). */
  close(): void {
    this.#planning.close();
  }
}
