// Versions of a path: the commits of a first-parent chain where the path's tree entry changed.

import { BoundedMap } from "./bounded-map.ts";
import type { Chain, GitRepository } from "./git-repository.ts";

interface History {
  shas: string[];
  /** Last generation computed, and the entry id the path had there. */
  upto: number;
  lastId: string | null;
  /** Generations where the entry changed vs the first parent, oldest first. */
  changes: number[];
}

/**
 * Computes and caches, per path, the generations where the path changed. No `git log`: entry ids are
 * resolved level by level over every commit, each level's missing trees read in one pipelined batch,
 * and trees are shared between commits (a subtree that did not change is never read twice).
 * A new head that extends the cached chain only costs its new commits.
 */
export class PathHistories {
  readonly #repo: GitRepository;
  // Why bounded: `/versions` of any path (even one that never existed) computes a history.
  readonly #byPath = new BoundedMap<string, History>(20_000);
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(repo: GitRepository) {
    this.#repo = repo;
  }

  /** Commits (newest first) where `segments` changed, on the chain ending at `chain.head`. */
  async versions(chain: Chain, segments: readonly string[]): Promise<string[]> {
    const gens = await this.#changes(chain, segments);
    const out = new Array<string>(gens.length);
    for (let i = 0; i < gens.length; i++) out[i] = chain.shas[gens[gens.length - 1 - i]!]!;
    return out;
  }

  /** The newest commit at or before the chain's head that changed the path, or null. */
  async lastChange(chain: Chain, segments: readonly string[]): Promise<string | null> {
    const gens = await this.#changes(chain, segments);
    const g = gens[gens.length - 1];
    return g === undefined ? null : chain.shas[g]!;
  }

  async #changes(chain: Chain, segments: readonly string[]): Promise<number[]> {
    const key = segments.join("/");
    // Why: two requests extending one history at once would append the same changes twice.
    for (let busy = this.#busy.get(key); busy; busy = this.#busy.get(key)) await busy.catch(() => {});
    const work = this.#changesUnlocked(key, chain, segments);
    this.#busy.set(key, work);
    try {
      return await work;
    } finally {
      this.#busy.delete(key);
    }
  }

  async #changesUnlocked(key: string, chain: Chain, segments: readonly string[]): Promise<number[]> {
    const top = chain.shas.length - 1;
    const h = this.#byPath.get(key);
    if (h && h.upto <= top && h.shas[h.upto] === chain.shas[h.upto]) {
      if (h.upto < top) await this.#extend(h, chain.shas, segments);
      return h.changes;
    }
    if (h && h.upto > top && h.shas[top] === chain.shas[top]) {
      // The chain is a prefix of the cached one (an older commit of the same line).
      return h.changes.filter((g) => g <= top);
    }
    const fresh: History = { shas: chain.shas, upto: -1, lastId: null, changes: [] };
    await this.#extend(fresh, chain.shas, segments);
    // Why: keep the history of the longest line seen, so older pins reuse it as a prefix.
    if (!h || h.upto <= top) this.#byPath.set(key, fresh);
    return fresh.changes;
  }

  async #extend(h: History, shas: string[], segments: readonly string[]): Promise<void> {
    const from = h.upto + 1;
    const to = shas.length - 1;
    const n = to - from + 1;
    const ids = new Array<string | null>(n);
    for (let i = 0; i < n; i++) ids[i] = this.#repo.knownCommit(shas[from + i]!)!.tree;
    for (const seg of segments) {
      const need = new Set<string>();
      for (const id of ids) if (id) need.add(id);
      await this.#repo.prefetchTrees(need);
      for (let i = 0; i < n; i++) {
        const id = ids[i];
        if (!id) continue;
        const e = (this.#repo.cachedTree(id) ?? (await this.#repo.tree(id))).byName.get(seg);
        // A file where a folder is expected ends the walk: the path does not exist there.
        ids[i] = e && (e.isTree || seg === segments[segments.length - 1]) ? e.id : null;
      }
    }
    let prev = h.lastId;
    for (let i = 0; i < n; i++) {
      const id = ids[i] ?? null;
      if (id !== prev) h.changes.push(from + i);
      prev = id;
    }
    h.lastId = prev;
    h.upto = to;
    h.shas = shas;
  }
}
