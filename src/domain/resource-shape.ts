// What one `+` group of a resource request needs from each node: the planner's view of a request.

import type { NodeInfo, PropertyValue } from "./node.ts";
import { compileFilter, type NodePredicate } from "./properties-eval.ts";
import type { ResourceGroup, ResourceLevel, ResourceRequest } from "./resource-request.ts";

/**
 * Properties every node has for filters, beside its own: `type` is OAR's resource type (a node
 * is `default`), `host`/`network_address` its name, `cluster`, `site`, `cpucore`, `gpu_count`.
 */
export const BUILTIN_PROPERTIES = [
  "type",
  "host",
  "network_address",
  "cluster",
  "site",
  "cpucore",
  "gpu_count",
  "memnode",
] as const;

/** The flat properties a filter sees for a node (its own win over the built-in ones). */
export function filterPropertiesOf(node: NodeInfo): Record<string, PropertyValue> {
  return {
    type: "default",
    host: node.uid,
    network_address: node.uid,
    cluster: node.cluster,
    site: node.site,
    cpucore: Math.floor(node.cores / Math.max(1, node.cpus ?? 1)),
    gpu_count: node.gpus,
    memnode: Math.floor(node.memoryBytes / 1048576),
    ...node.properties,
  };
}

/**
 * How a group is placed.
 * - `nodes`: `count` distinct nodes, each giving `need[i]` cores (`nodes=2/core=4`: 4 on each;
 *   `nodes=2`: whole nodes). `ALL` = every candidate; `BEST` = as many as fit at the earliest
 *   time at least one does.
 * - `units`: no node level (`core=4`, `/cpu=1/core=2`): `count` units anywhere, a unit taking
 *   `need[i]` cores inside one node; the planner prefers one node, then the fewest nodes.
 */
export interface GroupShape {
  mode: "nodes" | "units";
  count: number | "ALL" | "BEST";
  /** Indexes (into the planner's node list) of nodes matching the filter that can ever hold it. */
  candidates: number[];
  /** Cores per node (nodes) or per unit (units), aligned with `candidates`. */
  need: number[];
  /** Identity of the shape, used to cache searches. */
  key: string;
}

const sizeOf = (type: string, node: NodeInfo): number => {
  if (type === "core") return 1;
  if (type === "cpu") return Math.max(1, Math.floor(node.cores / Math.max(1, node.cpus ?? 1)));
  if (type === "gpu") return node.gpus > 0 ? Math.max(1, Math.floor(node.cores / node.gpus)) : Infinity;
  return node.cores;
};

/**
 * Cores that `levels` take inside a unit of `parent` cores; Infinity when they cannot fit.
 * Sub-levels are counted in cores (which core belongs to which cpu is not tracked).
 */
function coresFor(levels: ResourceLevel[], from: number, parent: number, node: NodeInfo): number {
  if (from >= levels.length) return parent;
  const level = levels[from]!;
  const size = sizeOf(level.type, node);
  if (size > parent) return Infinity;
  const n = typeof level.count === "number" ? level.count : Math.floor(parent / size);
  if (n * size > parent) return Infinity;
  return n * coresFor(levels, from + 1, size, node);
}

/** Build the shape of a group over the planner's nodes; `cache` holds filter results by text. */
export function groupShape(
  group: ResourceGroup,
  nodes: readonly NodeInfo[],
  props: readonly Record<string, PropertyValue>[],
  cache: Map<string, number[]>,
): GroupShape {
  const filterKey = group.filter ?? "";
  let matching = cache.get(filterKey);
  if (!matching) {
    const pred: NodePredicate | null = group.filterExpr ? compileFilter(group.filterExpr) : null;
    matching = [];
    for (let i = 0; i < nodes.length; i++) if (!pred || pred(props[i]!)) matching.push(i);
    cache.set(filterKey, matching);
  }
  const levels = group.levels;
  const first = levels[0] ?? { type: "nodes", count: 1 };
  // `core=ALL` with no node level means every core of every candidate: whole nodes.
  const nodeLevel = first.type === "nodes" || typeof first.count !== "number";
  const candidates: number[] = [];
  const need: number[] = [];
  for (const i of matching) {
    const node = nodes[i]!;
    const c = nodeLevel
      ? first.type === "nodes"
        ? coresFor(levels, 1, node.cores, node)
        : coresFor(levels, 0, node.cores, node)
      : coresFor(levels, 1, sizeOf(first.type, node), node);
    if (c >= 1 && c <= node.cores) {
      candidates.push(i);
      need.push(c);
    }
  }
  const count = first.count;
  const key = `${filterKey}\u0000${levels.map((l) => `${l.type}=${l.count}`).join("/")}`;
  return { mode: nodeLevel ? "nodes" : "units", count, candidates, need, key };
}

/**
 * Why `request` can never run on `nodes` (even all idle), or null when it can: for the
 * submission check (GRIDQ_UNSATISFIABLE). Each group alone is checked, and the whole request
 * against the total cores; a `+` request whose groups fit apart but not together is left to the
 * planner (it reports it).
 */
export function whyUnsatisfiable(request: ResourceRequest, nodes: readonly NodeInfo[]): string | null {
  const props = nodes.map(filterPropertiesOf);
  const cache = new Map<string, number[]>();
  let total = 0;
  for (const g of request.groups) {
    const s = groupShape(g, nodes, props, cache);
    const where = g.filter ? ` matching {${g.filter}}` : "";
    if (s.candidates.length === 0) return `no node${where} can hold '${levelsText(g)}'`;
    if (s.mode === "nodes" && typeof s.count === "number" && s.count > s.candidates.length) {
      return `'${levelsText(g)}' asks for ${s.count} nodes, only ${s.candidates.length}${where} can hold it`;
    }
    if (s.mode === "units") {
      const units = typeof s.count === "number" ? s.count : 1;
      let capacity = 0;
      s.candidates.forEach((n, j) => {
        capacity += Math.floor(nodes[n]!.cores / s.need[j]!);
      });
      if (capacity < units) return `'${levelsText(g)}' needs more than the ${capacity} available${where}`;
    }
    // A lower bound of the cores it takes: its `count` smallest needs (units: units * smallest).
    const least = [...s.need].sort((a, b) => a - b);
    const count = typeof s.count === "number" ? s.count : s.count === "ALL" ? least.length : 1;
    total += s.mode === "nodes" ? least.slice(0, count).reduce((a, b) => a + b, 0) : count * least[0]!;
  }
  const cores = nodes.reduce((a, n) => a + n.cores, 0);
  return total > cores ? `the request needs more than the ${cores} cores of the site` : null;
}

const levelsText = (g: ResourceGroup): string => g.levels.map((l) => `${l.type}=${l.count}`).join("/");
