// The name this machine goes by as a node, and nodes declared in the configuration.

import { hostname } from "node:os";
import type { NodeInfo } from "../domain/node.ts";
import type { NodeDirectory } from "../services/context.ts";

export function localNodeName(): string {
  const short = hostname().split(".")[0] ?? "localhost";
  return short.replace(/[^A-Za-z0-9_.-]/g, "-") || "localhost";
}

/** A node declared in the configuration (`site.nodes`), run by a `gridq agent`. */
export function declaredNode(site: string, cluster: string, name: string, cores: number): NodeInfo {
  return {
    uid: name,
    site,
    cluster,
    cores,
    memoryBytes: 0,
    gpus: 0,
    properties: {
      cluster,
      host: name,
      network_address: name,
      nodeset: cluster,
      core_count: cores,
      memnode: 0,
      gpu_count: 0,
      exotic: false,
    },
  };
}

/** A directory of fixed nodes (those of `site.nodes`, until the reference describes them). */
export function staticNodeDirectory(nodes: NodeInfo[]): NodeDirectory {
  const sites = [...new Set(nodes.map((n) => n.site))];
  return { sites: () => sites, nodes: (site) => nodes.filter((n) => n.site === site) };
}
