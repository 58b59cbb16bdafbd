// A git repository read through one cat-file process, with immutable caches keyed by object/commit id.

import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { GridqError } from "../domain/errors.ts";
import { BoundedMap } from "./bounded-map.ts";
import { GitCatFile } from "./git-cat-file.ts";
import { type CommitInfo, parseCommit, parseTree, type Tree, type TreeEntry } from "./git-objects.ts";

export interface GitRepositoryOptions {
  /** How long a resolved branch head is trusted before the ref is read again (ms). */
  refreshIntervalMs?: number;
  /** Bounds of the caches (entries). */
  maxTrees?: number;
  maxBlobs?: number;
}

/** The first-parent line of a head: `shas[0]` is the root commit, `shas[shas.length - 1]` the head. */
export interface Chain {
  head: string;
  shas: string[];
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX_ABBREV = /^[0-9a-f]{4,40}$/;
/** Branch names we accept: plain ref components only, so nothing reaches git as a revision expression. */
const BRANCH_NAME = /^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*\/$)(?!.*\.lock$)(?!-)[A-Za-z0-9._\-/]{1,200}$/;

/** Locates the git directory of `dir` (a work tree with .git, a .git file, or a bare repository). */
export function findGitDir(dir: string): string {
  const abs = resolve(dir);
  const dotGit = join(abs, ".git");
  if (existsSync(dotGit)) {
    if (statSync(dotGit).isDirectory()) return dotGit;
    const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, "utf8"));
    if (m) return resolve(abs, m[1]!.trim());
  }
  if (existsSync(join(abs, "HEAD")) && existsSync(join(abs, "objects"))) return abs;
  throw new GridqError("GRIDQ_UNAVAILABLE", `No git repository at ${abs}.`);
}

export class GitRepository {
  readonly gitDir: string;
  readonly #git: GitCatFile;
  readonly #refreshMs: number;
  readonly #commits = new Map<string, CommitInfo & { gen: number }>();
  readonly #trees: BoundedMap<string, Tree>;
  readonly #blobs: BoundedMap<string, unknown>;
  readonly #chains = new BoundedMap<string, Chain>(16);
  // Why bounded: branch names come from requests (`?branch=`), unknown ones included.
  readonly #heads = new BoundedMap<
    string,
    { sha: string | null; at: number; pending?: Promise<string | null> }
  >(256);
  #inflightTrees = new Map<string, Promise<Tree>>();
  #headRef: { name: string; at: number } | null = null;

  constructor(dir: string, options: GitRepositoryOptions = {}) {
    this.gitDir = findGitDir(dir);
    this.#git = new GitCatFile(this.gitDir);
    this.#refreshMs = options.refreshIntervalMs ?? 1000;
    this.#trees = new BoundedMap(options.maxTrees ?? 100_000);
    this.#blobs = new BoundedMap(options.maxBlobs ?? 4_000);
  }

  close(): Promise<void> {
    return this.#git.close();
  }

  /** The branch HEAD points to (read from the HEAD file), `main` when HEAD is detached. */
  defaultBranch(): string {
    const now = Date.now();
    // Why: read the HEAD file at most once per refresh interval, not once per request.
    if (this.#headRef && now - this.#headRef.at < this.#refreshMs) return this.#headRef.name;
    let name = "main";
    try {
      const m = /^ref: refs\/heads\/(.+)$/m.exec(readFileSync(join(this.gitDir, "HEAD"), "utf8"));
      if (m) name = m[1]!.trim();
    } catch {}
    this.#headRef = { name, at: now };
    return name;
  }

  /**
   * The commit a branch points to, or null. Read through the cat-file process at most once per
   * refresh interval, so new commits are seen without a restart and without a process per request.
   */
  async branchHead(name: string): Promise<string | null> {
    if (!BRANCH_NAME.test(name)) return null;
    const now = Date.now();
    const cached = this.#heads.get(name);
    if (cached && now - cached.at < this.#refreshMs) return cached.pending ?? cached.sha;
    if (cached?.pending) return cached.pending;
    const pending = this.#readBranch(name).then(
      (sha) => {
        this.#heads.set(name, { sha, at: Date.now() });
        return sha;
      },
      (e: unknown) => {
        this.#heads.delete(name);
        throw e;
      },
    );
    this.#heads.set(name, { sha: cached?.sha ?? null, at: cached?.at ?? 0, pending });
    return pending;
  }

  async #readBranch(name: string): Promise<string | null> {
    for (const ref of [`refs/heads/${name}`, `refs/remotes/origin/${name}`]) {
      const o = await this.#git.read(ref);
      if (o && o.type === "commit") {
        this.#rememberCommit(o.id, o.data);
        return o.id;
      }
    }
    return null;
  }

  /** Resolves a full or abbreviated commit id; null when unknown, ambiguous or not a commit. */
  async resolveCommitId(sha: string): Promise<string | null> {
    const s = sha.toLowerCase();
    if (!HEX_ABBREV.test(s)) return null;
    if (HEX40.test(s) && this.#commits.has(s)) return s;
    const o = await this.#git.read(s);
    if (o?.type !== "commit") return null;
    this.#rememberCommit(o.id, o.data);
    return o.id;
  }

  /** A commit by full id (loaded if needed). */
  async commit(id: string): Promise<CommitInfo & { gen: number }> {
    const known = this.#commits.get(id);
    if (known && known.gen >= 0) return known;
    await this.chain(id);
    return this.#commits.get(id)!;
  }

  /** A parsed tree by id, cached forever (trees are immutable). */
  async tree(id: string): Promise<Tree> {
    const t = this.#trees.get(id);
    if (t) return t;
    let p = this.#inflightTrees.get(id);
    if (!p) {
      p = this.#git.read(id).then((o) => {
        this.#inflightTrees.delete(id);
        if (o?.type !== "tree") throw new GridqError("GRIDQ_UNAVAILABLE", `Tree ${id} cannot be read.`);
        const tree = parseTree(o.id, o.data);
        this.#trees.set(id, tree);
        return tree;
      });
      this.#inflightTrees.set(id, p);
    }
    return p;
  }

  /** A tree already in the cache, without waiting. */
  cachedTree(id: string): Tree | undefined {
    return this.#trees.get(id);
  }

  /** Loads many trees at once (pipelined through the one git process). */
  async prefetchTrees(ids: Iterable<string>): Promise<void> {
    const missing: Promise<Tree>[] = [];
    for (const id of ids) if (!this.#trees.has(id)) missing.push(this.tree(id));
    await Promise.all(missing);
  }

  /** A file's parsed JSON by blob id, cached (blobs are immutable). */
  async json(blobId: string, pathForErrors: string): Promise<unknown> {
    if (this.#blobs.has(blobId)) return this.#blobs.get(blobId);
    const o = await this.#git.read(blobId);
    if (o?.type !== "blob")
      throw new GridqError("GRIDQ_UNAVAILABLE", `File ${pathForErrors} cannot be read.`);
    let value: unknown;
    try {
      value = JSON.parse(o.data.toString("utf8"));
    } catch {
      throw new GridqError("GRIDQ_INTERNAL", `File ${pathForErrors} is not valid JSON.`);
    }
    this.#blobs.set(blobId, value);
    return value;
  }

  /** The tree entry at `segments` below a commit's root tree, or null. */
  async entryAt(commitId: string, segments: readonly string[]): Promise<TreeEntry | null> {
    const c = await this.commit(commitId);
    let entry: TreeEntry = { name: "", mode: "40000", id: c.tree, isTree: true };
    for (const seg of segments) {
      if (!entry.isTree) return null;
      const t = await this.tree(entry.id);
      const next = t.byName.get(seg);
      if (!next) return null;
      entry = next;
    }
    return entry;
  }

  /** The first-parent chain ending at `head`, loading missing commits in pipelined runs of `head~k`. */
  async chain(head: string): Promise<Chain> {
    const cached = this.#chains.get(head);
    if (cached) return cached;
    await this.#loadCommits(head);
    const top = this.#commits.get(head)!;
    const shas = new Array<string>(top.gen + 1);
    let c: (CommitInfo & { gen: number }) | undefined = top;
    while (c) {
      shas[c.gen] = c.id;
      c = c.parents[0] ? this.#commits.get(c.parents[0]) : undefined;
    }
    const chain = { head, shas };
    this.#chains.set(head, chain);
    return chain;
  }

  /** The newest commit of a chain whose committer time is at or before `unixSeconds`, or null. */
  commitAtTime(chain: Chain, unixSeconds: number): string | null {
    for (let g = chain.shas.length - 1; g >= 0; g--) {
      const c = this.#commits.get(chain.shas[g]!)!;
      if (c.time <= unixSeconds) return c.id;
    }
    return null;
  }

  /** A commit's metadata when it is already loaded (every commit of a loaded chain is). */
  knownCommit(id: string): (CommitInfo & { gen: number }) | undefined {
    return this.#commits.get(id);
  }

  async #loadCommits(head: string): Promise<void> {
    const loaded: string[] = [];
    let cursor = head;
    if (!this.#commits.has(head)) {
      const o = await this.#git.read(head);
      if (o?.type !== "commit") throw new GridqError("GRIDQ_NOT_FOUND", `Commit '${head}' cannot be found.`);
      this.#rememberCommit(o.id, o.data);
    }
    // Walk back until a commit whose generation is known (or the root). Why `~k` in runs: one
    // round-trip per commit costs ~0.1 ms; asking git for `head~1..head~64` at once is pipelined.
    for (;;) {
      const c = this.#commits.get(cursor)!;
      if (c.gen >= 0) break;
      loaded.push(cursor);
      const parent = c.parents[0];
      if (!parent) break;
      if (this.#commits.has(parent)) {
        cursor = parent;
        continue;
      }
      const run = await Promise.all(
        Array.from({ length: 64 }, (_, i) => this.#git.read(`${cursor}~${i + 1}`)),
      );
      for (const o of run) {
        if (o?.type !== "commit") break;
        if (!this.#commits.has(o.id)) this.#rememberCommit(o.id, o.data);
      }
      if (!this.#commits.has(parent)) break; // shallow history: treat the oldest known commit as a root
      cursor = parent;
    }
    for (let i = loaded.length - 1; i >= 0; i--) {
      const c = this.#commits.get(loaded[i]!)!;
      const p = c.parents[0] ? this.#commits.get(c.parents[0]) : undefined;
      c.gen = p ? p.gen + 1 : 0;
    }
  }

  #rememberCommit(id: string, data: Buffer): void {
    if (!this.#commits.has(id)) this.#commits.set(id, { ...parseCommit(id, data), gen: -1 });
  }
}
