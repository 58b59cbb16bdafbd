// The scheduler's node directory backed by the reference: a snapshot of every site's nodes at the head.

import type { NodeInfo } from "../domain/node.ts";
import type { ReferenceReader } from "./reference-reader.ts";
import { listSiteNodes, listSites } from "./site-nodes.ts";

/** Same shape as the services' NodeDirectory (structural: this layer does not import services). */
export interface ReferenceNodeDirectory {
  sites(): string[];
  nodes(site: string): NodeInfo[];
  /** The commit the snapshot was read at. */
  commit(): string;
  /** Re-reads the snapshot if the branch moved; resolves true when it changed. */
  refresh(): Promise<boolean>;
  /** Stops the periodic refresh. */
  close(): void;
}

export interface NodeDirectoryOptions {
  /** Check the branch for new commits this often (ms); 0 = only on refresh(). Default 5000. */
  refreshIntervalMs?: number;
  /** Called after a refresh changed the snapshot (e.g. to wake the scheduler). */
  onChange?: (commit: string) => void;
  /** Called when a refresh fails; the previous snapshot stays. */
  onError?: (error: unknown) => void;
}

interface Snapshot {
  commit: string;
  bySite: Map<string, NodeInfo[]>;
}

async function readSnapshot(reader: ReferenceReader): Promise<Snapshot> {
  const at = await reader.resolve({});
  const bySite = new Map<string, NodeInfo[]>();
  for (const site of await listSites(reader, { version: at.commit })) {
    bySite.set(site, (await listSiteNodes(reader, site, { version: at.commit })).nodes);
  }
  return { commit: at.commit, bySite };
}

/**
 * Loads every site's nodes at the head of the served branch, then keeps the snapshot current.
 * Reads are synchronous (the scheduler calls them in its pass); refreshes swap the whole snapshot.
 */
export async function createReferenceNodeDirectory(
  reader: ReferenceReader,
  options: NodeDirectoryOptions = {},
): Promise<ReferenceNodeDirectory> {
  let snap = await readSnapshot(reader);
  let running: Promise<boolean> | null = null;
  const refresh = (): Promise<boolean> => {
    // Why: one refresh at a time; a second caller shares the running one.
    running ??= (async () => {
      try {
        const head = (await reader.resolve({})).commit;
        if (head === snap.commit) return false;
        snap = await readSnapshot(reader);
        options.onChange?.(snap.commit);
        return true;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const every = options.refreshIntervalMs ?? 5000;
  const timer =
    every > 0
      ? setInterval(() => {
          refresh().catch((e: unknown) => options.onError?.(e));
        }, every)
      : null;
  timer?.unref();
  return {
    sites: () => [...snap.bySite.keys()],
    nodes: (site) => snap.bySite.get(site) ?? [],
    commit: () => snap.commit,
    refresh,
    close: () => {
      if (timer) clearInterval(timer);
    },
  };
}
