// The reference at any commit: resolves selectors (branch, version, timestamp, date) and builds bodies.

import { GridqError } from "../domain/errors.ts";
import { BoundedMap } from "./bounded-map.ts";
import { deepView } from "./deep-view.ts";
import type { Tree, TreeEntry } from "./git-objects.ts";
import { type Chain, GitRepository } from "./git-repository.ts";
import { PathHistories } from "./path-history.ts";
import {
  collectionBody,
  DEFAULT_EXTRA_LINKS,
  DEFAULT_QUEUES,
  type ExtraLinks,
  filterClusters,
  hrefFor,
  inQueues,
  itemBody,
  itemLinks,
  type JsonObject,
  sortKeysDeep,
  versionItem,
  versionsBody,
} from "./representation.ts";
import { parseDate, parseTimestamp } from "./selector.ts";

export interface ReferenceOptions {
  /** Folder inside the repository that holds the description (default `data/grid5000`). */
  prefix?: string;
  /** Branch served when no `?branch=` is given (default: the branch HEAD points to). */
  branch?: string;
  refreshIntervalMs?: number;
  extraLinks?: ExtraLinks;
}

/** How a request picks a commit: at most one of version / timestamp / date, on a branch. */
export interface Selector {
  version?: string;
  timestamp?: string;
  date?: string;
  branch?: string;
}

export interface ResolvedCommit {
  commit: string;
  chain: Chain;
  /** True when `?version=` named the commit: the answer can never change. */
  pinned: boolean;
}

/** A built body with what the HTTP layer needs for caching. */
export interface Representation {
  kind: "item" | "collection";
  body: JsonObject;
  /** The commit reported as `version` (last change of the path at or before the selected commit). */
  version: string;
  /** Committer time of `version`, UNIX seconds. */
  time: number;
  /** A key that identifies the body (same key, same body). */
  key: string;
}

interface Located {
  kind: "item" | "collection";
  /** Tree path whose history gives the resource's versions. */
  track: string[];
  /** Item file (for items). */
  file?: TreeEntry;
  /** Folder tree (collections and folder items). */
  tree?: Tree;
  parentSegments: string[];
}

export class ReferenceReader {
  readonly repo: GitRepository;
  readonly prefix: string[];
  readonly #histories: PathHistories;
  readonly #branch: string | undefined;
  readonly #extras: ExtraLinks;
  /** Built representations by (selected commit, path, base, deep): a commit's content never changes. */
  readonly #built = new BoundedMap<string, Promise<Representation>>(5000);

  constructor(dir: string, options: ReferenceOptions = {}) {
    this.repo = new GitRepository(dir, { refreshIntervalMs: options.refreshIntervalMs });
    this.prefix = (options.prefix ?? "data/grid5000").split("/").filter(Boolean);
    this.#histories = new PathHistories(this.repo);
    this.#branch = options.branch;
    this.#extras = options.extraLinks ?? DEFAULT_EXTRA_LINKS;
  }

  close(): Promise<void> {
    return this.repo.close();
  }

  get defaultBranch(): string {
    return this.#branch ?? this.repo.defaultBranch();
  }

  /** Loads the default branch's history and the trees every path shares, so first requests are quick. */
  async warm(): Promise<void> {
    // An empty repository (no branch yet) is served as such: 404 until the first commit.
    if (!(await this.repo.branchHead(this.defaultBranch))) return;
    const { chain } = await this.resolve({});
    await this.#histories.versions(chain, this.prefix);
    const sites = await this.repo.entryAt(chain.head, [...this.prefix, "sites"]);
    if (sites?.isTree) {
      for (const e of (await this.repo.tree(sites.id)).entries) {
        if (e.isTree) await this.#histories.versions(chain, [...this.prefix, "sites", e.name]);
      }
    }
  }

  /** The commit a selector names; 404 with the documented messages when it names nothing. */
  async resolve(sel: Selector): Promise<ResolvedCommit> {
    if (sel.version !== undefined) {
      const id = await this.repo.resolveCommitId(sel.version);
      if (!id) throw new GridqError("GRIDQ_UNKNOWN_COMMIT", `Commit '${sel.version}' cannot be found.`);
      return { commit: id, chain: await this.repo.chain(id), pinned: true };
    }
    const branch = sel.branch ?? this.defaultBranch;
    const head = await this.repo.branchHead(branch);
    if (!head) throw new GridqError("GRIDQ_UNKNOWN_BRANCH", `Branch '${branch}' cannot be found.`);
    const chain = await this.repo.chain(head);
    const at =
      sel.timestamp !== undefined
        ? parseTimestamp(sel.timestamp)
        : sel.date !== undefined
          ? parseDate(sel.date)
          : undefined;
    if (at === undefined) return { commit: head, chain, pinned: false };
    const commit = this.repo.commitAtTime(chain, at);
    if (!commit) {
      throw new GridqError(
        "GRIDQ_NOT_FOUND",
        `No commit of branch '${branch}' is at or before ${new Date(at * 1000).toISOString()}.`,
      );
    }
    return { commit, chain: await this.repo.chain(commit), pinned: false };
  }

  /**
   * The item or collection at `segments` (below the prefix), plain or `deep`. Clusters whose
   * `queues` do not meet `queues` (default admin, default) are left out of collections and deep views.
   */
  read(
    segments: readonly string[],
    at: ResolvedCommit,
    base: string,
    options: { deep?: boolean; queues?: readonly string[] } = {},
  ): Promise<Representation> {
    const deep = options.deep === true;
    const queues = options.queues ?? DEFAULT_QUEUES;
    const key = `${at.commit}\0${deep ? 1 : 0}\0${base}\0${queues.join(",")}\0${segments.join("/")}`;
    let p = this.#built.get(key);
    if (!p) {
      p = this.#read(segments, at, base, deep, queues);
      // Why: deep views can be megabytes; they are rebuilt from cached blobs rather than kept.
      if (deep) return p;
      this.#built.set(key, p);
      // Why: a failure (404, unreadable object) is not cached; the next request tries again.
      p.catch(() => this.#built.delete(key));
    }
    return p;
  }

  async #read(
    segments: readonly string[],
    at: ResolvedCommit,
    base: string,
    deep: boolean,
    queues: readonly string[],
  ): Promise<Representation> {
    const loc = await this.#locate(at.commit, segments);
    const version = await this.#histories.lastChange(at.chain, loc.track);
    if (!version) throw notFound(segments);
    const time = this.repo.knownCommit(version)!.time;
    const self = hrefFor(base, segments);
    // Same key, same body: the parent link is the one input that lies outside the tracked path.
    const key = [
      deep ? "deep" : "plain",
      version,
      loc.track.join("/"),
      base,
      queues.join(","),
      loc.parentSegments.join("/"),
    ].join("\0");
    const clusters = segments.length === 3 && segments[0] === "sites" && segments[2] === "clusters";
    if (deep) {
      const name = segments[segments.length - 1] ?? this.prefix[this.prefix.length - 1] ?? "";
      const view = loc.tree
        ? await deepView(this.repo, loc.tree, loc.track, name)
        : sortKeysDeep(await this.repo.json(loc.file!.id, loc.track.join("/")));
      const items = filterClusters(view, queues, clusters);
      const body = collectionBody(
        items as unknown[] | JsonObject,
        version,
        self,
        hrefFor(base, loc.parentSegments),
      );
      return { kind: "collection", body, version, time, key };
    }
    if (loc.kind === "item") {
      const json = await this.repo.json(loc.file!.id, loc.track.join("/"));
      const links = itemLinks({
        base,
        segments,
        parentSegments: loc.parentSegments,
        subfolders: subfolders(loc.tree),
        version,
        extras: this.#extras,
      });
      return { kind: "item", body: itemBody(json, version, links), version, time, key };
    }
    const items: JsonObject[] = [];
    for (const e of loc.tree!.entries) {
      const member = await this.#member(e, loc.track);
      if (!member || (clusters && !inQueues(member.json, queues))) continue;
      const segs = [...segments, member.name];
      const links = itemLinks({
        base,
        segments: segs,
        parentSegments: loc.parentSegments,
        subfolders: subfolders(member.tree),
        version,
        extras: this.#extras,
      });
      items.push(itemBody(member.json, version, links));
    }
    return {
      kind: "collection",
      body: collectionBody(items, version, self, hrefFor(base, loc.parentSegments)),
      version,
      time,
      key,
    };
  }

  /** Versions of a resource, newest first, one page. 404 when the path never existed. */
  async versions(
    segments: readonly string[],
    at: ResolvedCommit,
    base: string,
    offset: number,
    limit: number,
  ): Promise<Representation> {
    const track = await this.#trackPath(at, segments);
    const all = await this.#histories.versions(at.chain, track);
    if (all.length === 0) throw notFound(segments);
    const resourceHref = hrefFor(base, segments);
    const items = all
      .slice(offset, offset + limit)
      .map((sha) => versionItem(this.#versionInput(sha), resourceHref));
    const body = versionsBody(items, all.length, offset, resourceHref);
    const newest = all[0]!;
    const key = `versions\0${newest}\0${track.join("/")}\0${base}\0${offset}\0${limit}`;
    return { kind: "collection", body, version: newest, time: this.repo.knownCommit(newest)!.time, key };
  }

  /** One version item (any commit of the repository). */
  async version(segments: readonly string[], sha: string, base: string): Promise<Representation> {
    const id = await this.repo.resolveCommitId(sha);
    if (!id)
      throw new GridqError("GRIDQ_UNKNOWN_COMMIT", `Reference (branch or commit) '${sha}' cannot be found.`);
    await this.repo.chain(id);
    const body = versionItem(this.#versionInput(id), hrefFor(base, segments));
    return {
      kind: "item",
      body,
      version: id,
      time: this.repo.knownCommit(id)!.time,
      key: `version\0${id}\0${segments.join("/")}\0${base}`,
    };
  }

  /** The newest version of a resource at the selected commit (for `versions/latest`). */
  async latest(segments: readonly string[], at: ResolvedCommit): Promise<string> {
    const track = await this.#trackPath(at, segments);
    const sha = await this.#histories.lastChange(at.chain, track);
    if (!sha) throw notFound(segments);
    return sha;
  }

  #versionInput(sha: string) {
    const c = this.repo.knownCommit(sha)!;
    return { sha, time: c.time, message: c.message, author: c.authorName };
  }

  /** The tree path whose history is the resource's: the folder, else `<name>.json`. */
  async #trackPath(at: ResolvedCommit, segments: readonly string[]): Promise<string[]> {
    try {
      return (await this.#locate(at.commit, segments)).track;
    } catch (e) {
      if (!(e instanceof GridqError) || e.code !== "GRIDQ_NOT_FOUND" || segments.length === 0) throw e;
      // Gone at this commit: its history is still that of the folder, or failing that of the file.
      const folder = [...this.prefix, ...segments];
      if ((await this.#histories.versions(at.chain, folder)).length > 0) return folder;
      return [...this.prefix, ...segments.slice(0, -1), `${segments[segments.length - 1]}.json`];
    }
  }

  async #locate(commit: string, segments: readonly string[]): Promise<Located> {
    const path = [...this.prefix, ...segments];
    const entry = await this.repo.entryAt(commit, path);
    const name = path[path.length - 1] ?? "";
    if (entry?.isTree) {
      const tree = await this.repo.tree(entry.id);
      const file = tree.byName.get(`${name}.json`);
      if (file && !file.isTree)
        return {
          kind: "item",
          track: path,
          file,
          tree,
          parentSegments: await this.#itemParent(commit, segments),
        };
      return { kind: "collection", track: path, tree, parentSegments: segments.slice(0, -1) };
    }
    if (entry || segments.length === 0) throw notFound(segments);
    const folder = path.slice(0, -1);
    // The item file of a folder item is served as the folder, never twice.
    if (folder[folder.length - 1] === name) throw notFound(segments);
    const file = await this.repo.entryAt(commit, [...folder, `${name}.json`]);
    if (!file || file.isTree) throw notFound(segments);
    return {
      kind: "item",
      track: [...folder, `${name}.json`],
      file,
      parentSegments: await this.#itemParent(commit, segments),
    };
  }

  /** An item's parent is the nearest item above it: the folder's item, or the collection's owner. */
  async #itemParent(commit: string, segments: readonly string[]): Promise<string[]> {
    if (segments.length === 0) return [];
    const up = segments.slice(0, -1);
    const folder = await this.repo.entryAt(commit, [...this.prefix, ...up]);
    if (!folder?.isTree) return up.slice(0, -1);
    const name = up.length > 0 ? up[up.length - 1] : this.prefix[this.prefix.length - 1];
    const t = await this.repo.tree(folder.id);
    return t.byName.has(`${name}.json`) ? up : up.slice(0, -1);
  }

  /** A member of a collection folder: a `<uid>.json` file, or a folder holding `<uid>/<uid>.json`. */
  async #member(
    e: TreeEntry,
    folder: readonly string[],
  ): Promise<{ name: string; json: unknown; tree?: Tree } | null> {
    if (!e.isTree) {
      if (!e.name.endsWith(".json") || e.name.length === 5) return null;
      return { name: e.name.slice(0, -5), json: await this.repo.json(e.id, [...folder, e.name].join("/")) };
    }
    const tree = await this.repo.tree(e.id);
    const file = tree.byName.get(`${e.name}.json`);
    if (!file || file.isTree) return null;
    return {
      name: e.name,
      json: await this.repo.json(file.id, [...folder, e.name, file.name].join("/")),
      tree,
    };
  }
}

function subfolders(tree: Tree | undefined): string[] {
  return tree ? tree.entries.filter((e) => e.isTree).map((e) => e.name) : [];
}

function notFound(segments: readonly string[]): GridqError {
  return new GridqError("GRIDQ_NOT_FOUND", `Cannot find resource /${segments.join("/")}`);
}
