// Use case: a site's (or cluster's) node status, Grid'5000-shaped: hard and soft states, slots,
// and the jobs holding or planned on each node.

import type { JobRecord } from "../domain/job.ts";
import type { NodeInfo } from "../domain/node.ts";
import { type HardState, type NodeSlots, nodeSlots } from "../domain/node-status.ts";
import type { NodeCores } from "../domain/planner-types.ts";
import type { ServiceDeps } from "./context.ts";
import type { NodeStatus } from "./controller/node-liveness.ts";
import { queuesOf, runningJob } from "./plan-input.ts";

export interface StatusOptions {
  cluster?: string;
  /** Include waiting jobs planned on the node (`waiting=no` hides them). */
  waiting: boolean;
  /** Include `reservations` (`job_details=no` drops them). */
  jobDetails: boolean;
  /** Only the node with this network address (or uid). */
  networkAddress?: string;
}

export interface NodeStatusView extends NodeSlots {
  hard: HardState;
  reservations?: JobRecord[];
}

/** What the status needs from the scheduler and the agents. */
export interface StatusSources {
  liveness(site: string): NodeStatus[];
  /** Planned nodes of waiting jobs, from the last pass. */
  plannedNodes(site: string): ReadonlyMap<number, readonly NodeCores[]>;
}

/** A node's key in the status: its network address when the reference gives one, else its uid. */
export function nodeKey(n: NodeInfo): string {
  const a = n.properties.network_address;
  return typeof a === "string" && a !== "" ? a : n.uid;
}

/** Absent: no agent connected; otherwise what liveness says (alive, suspected, dead). */
function hardState(s: NodeStatus | undefined): HardState {
  if (!s?.connected) return "absent";
  return s.state === "alive" || s.state === "suspected" || s.state === "dead" ? s.state : "absent";
}

export async function siteStatus(
  deps: ServiceDeps,
  sources: StatusSources,
  site: string,
  o: StatusOptions,
): Promise<Record<string, NodeStatusView>> {
  const nodes = deps.nodes
    .nodes(site)
    .filter((n) => o.cluster === undefined || n.cluster === o.cluster)
    .filter(
      (n) => o.networkAddress === undefined || nodeKey(n) === o.networkAddress || n.uid === o.networkAddress,
    );
  const live = new Map(sources.liveness(site).map((s) => [s.node, s]));
  const now = deps.clock.now();
  const holding = await deps.store.listJobsInStates(site, ["launching", "running"], Number.MAX_SAFE_INTEGER);
  const queues = queuesOf(deps.config.queues);
  const running = holding.map((j) => runningJob(j, now, queues));
  const byNode = new Map<string, JobRecord[]>();
  const add = (node: string, j: JobRecord) => {
    const list = byNode.get(node);
    if (list) list.push(j);
    else byNode.set(node, [j]);
  };
  if (o.jobDetails) {
    for (const j of holding) for (const a of j.assignedNodes) add(a.node, j);
    if (o.waiting) {
      const planned = sources.plannedNodes(site);
      const wanted = new Set(nodes.map((n) => n.uid));
      const ids = [...planned].filter(([, ns]) => ns.some((n) => wanted.has(n.uid))).map(([id]) => id);
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const { items } = await deps.store.listJobs({
          ids: chunk,
          states: ["waiting"],
          offset: 0,
          limit: chunk.length,
        });
        for (const j of items.sort((x, y) => (x.scheduledAt ?? 0) - (y.scheduledAt ?? 0) || x.id - y.id))
          for (const n of planned.get(j.id) ?? []) add(n.uid, j);
      }
    }
  }
  const out: Record<string, NodeStatusView> = {};
  for (const n of nodes) {
    const hard = hardState(live.get(n.uid));
    const view: NodeStatusView = { hard, ...nodeSlots(n.uid, n.cores, hard, running) };
    if (o.jobDetails) view.reservations = byNode.get(n.uid) ?? [];
    out[nodeKey(n)] = view;
  }
  return out;
}
