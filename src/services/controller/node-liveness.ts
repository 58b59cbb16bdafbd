// Node liveness from agents' messages: a node heard from lately is `alive`; silent for
// `agents.suspectAfter` seconds it is `suspected` (no new work); silent for `agents.deadAfter`
// it is `dead`. This file only judges; the controller decides what a dead node means for jobs.
// What this server heard is written to the store on each sweep (one batch, not one write per
// heartbeat), and a sweep reads every server's rows: a node heard by any server is alive.

import type { ServiceDeps } from "../context.ts";

export const NODE_STATES = ["alive", "suspected", "dead"] as const;
export type NodeState = (typeof NODE_STATES)[number];

export interface NodeStatus {
  node: string;
  state: NodeState;
  /** UNIX seconds of the last message from its agent (or of the server's start). */
  lastSeen: number;
  connected: boolean;
}

interface Tracked {
  lastSeen: number;
  state: NodeState;
  /** Heard from since this server started (a reference may list nodes that have no agent). */
  seen: boolean;
}

/** A node found dead by a sweep, and how long it had been silent. */
export interface DeadNode {
  node: string;
  silent: number;
}

export class NodeLiveness {
  readonly #deps: ServiceDeps;
  /** This server's name in the store's rows. */
  readonly #server: string;
  readonly #nodes = new Map<string, Tracked>();
  /** Nodes whose agent another server holds, and heard from lately (from the store's rows). */
  readonly #elsewhere = new Set<string>();
  /** Heard since the last write to the store: node → site and time. */
  #unwritten = new Map<string, { site: string; at: number }>();
  /**
   * Nodes are judged from this server's first sweep, which comes once it is up (a start under
   * load takes seconds, and agents cannot reach it before): a node whose agent never returns
   * dies too, `agents.deadAfter` later.
   */
  #since: number | null = null;

  constructor(deps: ServiceDeps, o: { server: string }) {
    this.#deps = deps;
    this.#server = o.server;
  }

  /** A message came from the node's agent. */
  heard(site: string, node: string): void {
    const now = this.#deps.clock.now();
    this.#alive(node, now);
    this.#unwritten.set(node, { site, at: now });
  }

  #alive(node: string, at: number): void {
    const t = this.#nodes.get(node);
    if (t && t.lastSeen >= at) return;
    if (t?.state === "dead" || t?.state === "suspected") {
      this.#deps.log.info({ node, was: t.state }, "node alive again");
    }
    this.#nodes.set(node, { lastSeen: at, state: "alive", seen: true });
  }

  /** Write what this server heard, then learn what every server heard from the site's nodes. */
  async #share(site: string): Promise<void> {
    const batch = this.#unwritten;
    this.#unwritten = new Map();
    try {
      await this.#deps.store.recordHeard(
        [...batch].map(([node, h]) => ({ node, site: h.site, server: this.#server, at: h.at })),
      );
    } catch (e) {
      // Written with the next sweep instead (unless heard again meanwhile: newer anyway).
      for (const [node, h] of batch) if (!this.#unwritten.has(node)) this.#unwritten.set(node, h);
      throw e;
    }
    // Words older than this server's start count for nothing: after a restart every node gets
    // `deadAfter` from the start to come back, as if never heard from.
    const heard = await this.#deps.store.listHeard(site);
    for (const h of heard) if (h.at > this.#since!) this.#alive(h.node, h.at);
    // A connection row counts while its holder still hears the node: a row left by a server
    // that died (or by this data folder's previous server) goes stale on its own.
    const fresh = this.#deps.clock.now() - this.#deps.config.agents.suspectAfter;
    const lately = new Set(heard.filter((h) => h.at >= fresh).map((h) => `${h.node} ${h.server}`));
    const rows = await this.#deps.store.listAgentConnections(site);
    for (const n of this.#deps.nodes.nodes(site)) this.#elsewhere.delete(n.uid);
    for (const c of rows)
      if (c.server !== this.#server && lately.has(`${c.node} ${c.server}`)) this.#elsewhere.add(c.node);
  }

  state(node: string): NodeState {
    return this.#nodes.get(node)?.state ?? "alive";
  }

  list(nodes: readonly string[], connected: ReadonlySet<string>): NodeStatus[] {
    return nodes.map((node) => {
      const t = this.#nodes.get(node) ?? {
        lastSeen: this.#since ?? this.#deps.clock.now(),
        state: this.#stateAfter(this.#since ?? this.#deps.clock.now()),
        seen: false,
      };
      const here = connected.has(node);
      return { node, state: t.state, lastSeen: t.lastSeen, connected: here || this.#elsewhere.has(node) };
    });
  }

  #stateAfter(lastSeen: number): NodeState {
    const { suspectAfter, deadAfter } = this.#deps.config.agents;
    const silent = this.#deps.clock.now() - lastSeen;
    return silent >= deadAfter ? "dead" : silent >= suspectAfter ? "suspected" : "alive";
  }

  /** Judge every node of a site again, from every server's word; returns the nodes just dead. */
  async sweep(site: string): Promise<DeadNode[]> {
    const now = this.#deps.clock.now();
    this.#since ??= now;
    const since = this.#since;
    await this.#share(site);
    const newlyDead: DeadNode[] = [];
    for (const n of this.#deps.nodes.nodes(site)) {
      const t = this.#nodes.get(n.uid) ?? { lastSeen: since, state: "alive" as NodeState, seen: false };
      const next = this.#stateAfter(t.lastSeen);
      if (next === t.state && this.#nodes.has(n.uid)) continue;
      this.#nodes.set(n.uid, { ...t, state: next });
      if (next === t.state) continue;
      // Nodes never heard from (a reference lists hundreds without agents) are not news.
      (t.seen ? this.#deps.log.warn : this.#deps.log.debug).call(
        this.#deps.log,
        { node: n.uid, site, silent: now - t.lastSeen },
        `node ${next}`,
      );
      if (next === "dead") newlyDead.push({ node: n.uid, silent: Math.round(now - t.lastSeen) });
    }
    return newlyDead;
  }
}
