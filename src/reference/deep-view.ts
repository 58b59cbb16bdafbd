// The `?deep=true` view: a whole sub-tree as one document, keys sorted recursively.

import type { Tree } from "./git-objects.ts";
import type { GitRepository } from "./git-repository.ts";
import { isObject, type JsonObject, sortKeysDeep } from "./representation.ts";

/**
 * Folders with sub-folders become objects keyed by name (merged with the folder's own `<name>.json`);
 * folders of files only become arrays (`nodes`, `servers`, `pdus`, `network_equipments`).
 */
export async function deepView(
  repo: GitRepository,
  tree: Tree,
  path: readonly string[],
  name: string,
): Promise<unknown> {
  return sortKeysDeep(await deepTree(repo, tree, path, name));
}

async function deepTree(
  repo: GitRepository,
  tree: Tree,
  path: readonly string[],
  name: string,
): Promise<unknown> {
  const hasSub = tree.entries.some((e) => e.isTree);
  const own = tree.byName.get(`${name}.json`);
  const files = tree.entries.filter((e) => !e.isTree && e.name.endsWith(".json") && e !== own);
  if (!hasSub && !own) {
    return Promise.all(files.map((f) => repo.json(f.id, [...path, f.name].join("/"))));
  }
  const out: JsonObject = {};
  if (own) {
    const json = await repo.json(own.id, [...path, own.name].join("/"));
    if (isObject(json)) Object.assign(out, json);
  }
  for (const f of files) out[f.name.slice(0, -5)] = await repo.json(f.id, [...path, f.name].join("/"));
  for (const e of tree.entries) {
    if (e.isTree) out[e.name] = await deepTree(repo, await repo.tree(e.id), [...path, e.name], e.name);
  }
  return out;
}
