// The nodes of a site as the scheduler sees them, read from the reference at a commit.

import { GridqError, isGridqError } from "../domain/errors.ts";
import type { NodeInfo } from "../domain/node.ts";
import { nodeInfoFromReference } from "../domain/node-properties.ts";
import type { ReferenceReader, Selector } from "./reference-reader.ts";

export interface SiteNodes {
  /** The commit the list was read at. */
  commit: string;
  nodes: NodeInfo[];
  /** Node files that could not be mapped (e.g. no core count), with the reason. */
  skipped: { path: string; reason: string }[];
}

/** Site uids at a commit (folders of `sites/`), in tree order. */
export async function listSites(reader: ReferenceReader, selector: Selector = {}): Promise<string[]> {
  const at = await reader.resolve(selector);
  const sites = await reader.repo.entryAt(at.commit, [...reader.prefix, "sites"]);
  if (!sites?.isTree) return [];
  return (await reader.repo.tree(sites.id)).entries.filter((e) => e.isTree).map((e) => e.name);
}

/**
 * Lists a site's nodes (every `clusters/<c>/nodes/<n>.json`) as NodeInfo, in tree order.
 * Unknown site: GRIDQ_UNKNOWN_SITE. The default selector is the served branch's head.
 */
export async function listSiteNodes(
  reader: ReferenceReader,
  site: string,
  selector: Selector = {},
): Promise<SiteNodes> {
  const at = await reader.resolve(selector);
  const siteEntry = /^[A-Za-z0-9._-]+$/.test(site)
    ? await reader.repo.entryAt(at.commit, [...reader.prefix, "sites", site])
    : null;
  if (!siteEntry?.isTree) throw new GridqError("GRIDQ_UNKNOWN_SITE", `Site '${site}' does not exist.`);
  const nodes: NodeInfo[] = [];
  const skipped: SiteNodes["skipped"] = [];
  const clusters = (await reader.repo.tree(siteEntry.id)).byName.get("clusters");
  if (!clusters?.isTree) return { commit: at.commit, nodes, skipped };
  for (const c of (await reader.repo.tree(clusters.id)).entries) {
    if (!c.isTree) continue;
    const folder = (await reader.repo.tree(c.id)).byName.get("nodes");
    if (!folder?.isTree) continue;
    for (const f of (await reader.repo.tree(folder.id)).entries) {
      if (f.isTree || !f.name.endsWith(".json")) continue;
      const path = [...reader.prefix, "sites", site, "clusters", c.name, "nodes", f.name].join("/");
      try {
        nodes.push(nodeInfoFromReference(await reader.repo.json(f.id, path), { site, cluster: c.name }));
      } catch (e) {
        if (!isGridqError(e) || e.code !== "GRIDQ_VALIDATION") throw e;
        skipped.push({ path, reason: e.message });
      }
    }
  }
  return { commit: at.commit, nodes, skipped };
}
