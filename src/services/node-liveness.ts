// Node liveness from agents' messages: a node heard from lately is `alive`; silent for
// `agents.suspectAfter` seconds it is `suspected` (no new work); silent for `agents.deadAfter`
// it is `dead`, and every active job using it ends in `error` with a message naming it.

import type { JobRecord } from "../domain/job.ts";
import { eventName, transition } from "../domain/job-state.ts";
import type { JobUpdate } from "../store/contract.ts";
import type { ServiceDeps } from "./context.ts";

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

export interface LivenessHooks {
  kill(job: JobRecord, reason: string): void;
  poke(site: string): void;
  isConnected(node: string): boolean;
}

export class NodeLiveness {
  readonly #deps: ServiceDeps;
  readonly #hooks: LivenessHooks;
  readonly #nodes = new Map<string, Tracked>();
  /** Nodes are judged from the server's start: a node whose agent never returns dies too. */
  readonly #since: number;
  #timer: NodeJS.Timeout | null = null;
  #sweep: Promise<void> | null = null;

  constructor(deps: ServiceDeps, hooks: LivenessHooks) {
    this.#deps = deps;
    this.#hooks = hooks;
    this.#since = deps.clock.now();
    const { suspectAfter } = deps.config.agents;
    // Checked a few times per suspicion period, at most once a second; unref'd so a sweeper
    // never keeps a process alive on its own.
    this.#timer = setInterval(() => void this.tick(), Math.min(1000, (suspectAfter * 1000) / 4));
    this.#timer.unref();
  }

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

  list(_site: string, nodes: string[]): NodeStatus[] {
    return nodes.map((node) => {
      const t = this.#nodes.get(node) ?? {
        lastSeen: this.#since,
        state: this.#stateAfter(this.#since),
        seen: false,
      };
      return { node, state: t.state, lastSeen: t.lastSeen, connected: this.#hooks.isConnected(node) };
    });
  }

  #stateAfter(lastSeen: number): NodeState {
    const { suspectAfter, deadAfter } = this.#deps.config.agents;
    const silent = this.#deps.clock.now() - lastSeen;
    return silent >= deadAfter ? "dead" : silent >= suspectAfter ? "suspected" : "alive";
  }

  /** One check of every node of every site (the timer calls it; tests may too). */
  async tick(): Promise<void> {
    if (this.#sweep) return this.#sweep;
    this.#sweep = this.#check().finally(() => {
      this.#sweep = null;
    });
    return this.#sweep;
  }

  async #check(): Promise<void> {
    for (const site of this.#deps.nodes.sites()) {
      const newlyDead: string[] = [];
      for (const n of this.#deps.nodes.nodes(site)) {
        const t = this.#nodes.get(n.uid) ?? {
          lastSeen: this.#since,
          state: "alive" as NodeState,
          seen: false,
        };
        const next = this.#stateAfter(t.lastSeen);
        if (next === t.state && this.#nodes.has(n.uid)) continue;
        this.#nodes.set(n.uid, { ...t, state: next });
        if (next === t.state) continue;
        // Nodes never heard from (a reference lists hundreds without agents) are not news.
        (t.seen ? this.#deps.log.warn : this.#deps.log.debug).call(
          this.#deps.log,
          { node: n.uid, site, silent: this.#deps.clock.now() - t.lastSeen },
          `node ${next}`,
        );
        if (next === "dead") newlyDead.push(n.uid);
      }
      if (newlyDead.length > 0) await this.#failJobsOn(site, newlyDead);
    }
  }

  /** Every active job using a dead node ends in error; the other nodes' agents are told to kill. */
  async #failJobsOn(site: string, dead: string[]): Promise<void> {
    const deadSet = new Set(dead);
    const active = await this.#deps.store.listJobsInStates(site, ["launching", "running"], 1_000_000);
    const now = this.#deps.clock.now();
    const updates: JobUpdate[] = [];
    const victims: JobRecord[] = [];
    for (const job of active) {
      const node = job.assignedNodes.find((a) => deadSet.has(a.node))?.node;
      if (!node) continue;
      const t = transition(job, { type: "node-lost", at: now, node });
      const silent = Math.round(now - (this.#nodes.get(node)?.lastSeen ?? this.#since));
      updates.push({
        id: job.id,
        expect: { state: job.state, leaseId: job.leaseId },
        patch: { ...t.patch, message: `node ${node} dead: no word from its agent for ${silent} s` },
        event: { at: now, type: eventName("node-lost"), description: `node ${node} dead` },
      });
      victims.push(job);
    }
    const results = await this.#deps.store.updateJobs(updates);
    results.forEach((r, i) => {
      // The head node may be alive (a dead secondary node): its process must not run on.
      if (r) this.#hooks.kill(victims[i]!, "a node of the job is dead");
    });
    if (updates.length > 0) this.#hooks.poke(site);
  }

  async settled(): Promise<void> {
    while (this.#sweep) await this.#sweep;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
