// Node liveness from agents' messages: a node heard from lately is `alive`; silent for
// `agents.suspectAfter` seconds it is `suspected` (no new work); silent for `agents.deadAfter`
// it is `dead`. This file only judges; the controller decides what a dead node means for jobs.

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
  readonly #nodes = new Map<string, Tracked>();
  /** Nodes are judged from the server's start: a node whose agent never returns dies too. */
  readonly #since: number;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    this.#since = deps.clock.now();
  }

  /** A message came from the node's agent. */
  heard(node: string): void {
    const t = this.#nodes.get(node);
    const now = this.#deps.clock.now();
    if (t?.state === "dead" || t?.state === "suspected") {
      this.#deps.log.info({ node, was: t.state }, "node alive again");
    }
    this.#nodes.set(node, { lastSeen: now, state: "alive", seen: true });
  }

  state(node: string): NodeState {
    return this.#nodes.get(node)?.state ?? "alive";
  }

  list(nodes: readonly string[], connected: ReadonlySet<string>): NodeStatus[] {
    return nodes.map((node) => {
      const t = this.#nodes.get(node) ?? {
        lastSeen: this.#since,
        state: this.#stateAfter(this.#since),
        seen: false,
      };
      return { node, state: t.state, lastSeen: t.lastSeen, connected: connected.has(node) };
    });
  }

  #stateAfter(lastSeen: number): NodeState {
    const { suspectAfter, deadAfter } = this.#deps.config.agents;
    const silent = this.#deps.clock.now() - lastSeen;
    return silent >= deadAfter ? "dead" : silent >= suspectAfter ? "suspected" : "alive";
  }

  /** Judge every node of a site again; returns the nodes that have just died. */
  async sweep(site: string): Promise<DeadNode[]> {
    const now = this.#deps.clock.now();
    const newlyDead: DeadNode[] = [];
    for (const n of this.#deps.nodes.nodes(site)) {
      const t = this.#nodes.get(n.uid) ?? { lastSeen: this.#since, state: "alive" as NodeState, seen: false };
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
