// First-come-first-served placement over node cores: which waiting jobs start now, and where.
// A pure function, to be replaced by the backfilling planner without touching its callers.

import type { NodeAllocation } from "./job.ts";
import type { NodeInfo } from "./node.ts";
import type { ResourceRequest } from "./resource-request.ts";

export interface WaitingJob {
  id: number;
  request: ResourceRequest;
}

export interface Placement {
  jobId: number;
  nodes: NodeAllocation[];
}

/** Cores a request needs per node, or why it cannot be expressed on these levels. */
interface Shape {
  nodes: number | "ALL";
  /** Cores on each node; "all" takes whole nodes. */
  coresPerNode: number | "all";
  /** `core=N` alone: N cores anywhere, packed on as few nodes as possible. */
  spread: number | null;
}

function shapeOf(r: ResourceRequest): Shape {
  const g = r.groups[0];
  let nodes: number | "ALL" | null = null;
  let cores: number | "ALL" | null = null;
  for (const l of g?.levels ?? []) {
    const c = l.count === "BEST" ? 1 : l.count;
    if (l.type === "nodes") nodes = c;
    else if (l.type === "core") cores = c;
  }
  if (nodes === null && cores !== null && cores !== "ALL")
    return { nodes: 1, coresPerNode: cores, spread: cores };
  return { nodes: nodes ?? 1, coresPerNode: cores === null || cores === "ALL" ? "all" : cores, spread: null };
}

/** Why this placement cannot honour a request it parsed, or null when it can. */
export function unsupportedPart(r: ResourceRequest): string | null {
  if (r.groups.length > 1) return "several '+' groups";
  const g = r.groups[0];
  if (g?.filter) return `a property filter '{${g.filter}}'`;
  const other = g?.levels.find((l) => l.type !== "nodes" && l.type !== "core");
  if (other) return `the resource type '${other.type}'`;
  return null;
}

/** Total cores a request can ever need on these nodes; null if no set of nodes can hold it. */
export function fitsAtAll(r: ResourceRequest, nodes: NodeInfo[]): boolean {
  return place(r, new Map(nodes.map((n) => [n.uid, n.cores])), nodes) !== null;
}

function place(r: ResourceRequest, free: Map<string, number>, nodes: NodeInfo[]): NodeAllocation[] | null {
  const s = shapeOf(r);
  if (s.spread !== null) {
    // Prefer one node with enough free cores (fewest left over), else pack across nodes.
    const one = nodes
      .filter((n) => (free.get(n.uid) ?? 0) >= s.spread!)
      .sort((a, b) => (free.get(a.uid) ?? 0) - (free.get(b.uid) ?? 0))[0];
    if (one) return [{ node: one.uid, cores: s.spread }];
    let need = s.spread;
    const out: NodeAllocation[] = [];
    for (const n of [...nodes].sort((a, b) => (free.get(b.uid) ?? 0) - (free.get(a.uid) ?? 0))) {
      const f = free.get(n.uid) ?? 0;
      if (f <= 0) continue;
      const take = Math.min(f, need);
      out.push({ node: n.uid, cores: take });
      need -= take;
      if (need === 0) return out;
    }
    return null;
  }
  const wanted = s.nodes === "ALL" ? nodes.length : s.nodes;
  const candidates = nodes.filter((n) => {
    const f = free.get(n.uid) ?? 0;
    return s.coresPerNode === "all" ? f === n.cores && n.cores > 0 : f >= s.coresPerNode;
  });
  if (candidates.length < wanted || wanted === 0) return null;
  return candidates
    .slice(0, wanted)
    .map((n) => ({ node: n.uid, cores: s.coresPerNode === "all" ? n.cores : (s.coresPerNode as number) }));
}

/**
 * Strict first-come-first-served: jobs start in submission order while they fit; the first
 * that does not fit stops the pass (no backfilling), so no job is overtaken.
 */
export function placeFirstComeFirstServed(
  nodes: NodeInfo[],
  busy: NodeAllocation[][],
  waiting: WaitingJob[],
): Placement[] {
  const free = new Map(nodes.map((n) => [n.uid, n.cores]));
  for (const alloc of busy) for (const a of alloc) free.set(a.node, (free.get(a.node) ?? 0) - a.cores);
  const out: Placement[] = [];
  for (const job of waiting) {
    const got = place(job.request, free, nodes);
    if (!got) break;
    for (const a of got) free.set(a.node, (free.get(a.node) ?? 0) - a.cores);
    out.push({ jobId: job.id, nodes: got });
  }
  return out;
}
