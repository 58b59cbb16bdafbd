// Conformance of the control plane's store verbs (node liveness, node credentials, the ended jobs
// fair-share is rebuilt from): part of every engine's run of runStoreConformance.

import assert from "node:assert/strict";
import type { NewJob } from "../../src/domain/job.ts";
import type { Store } from "../../src/store/contract.ts";

export type StoreIt = (
  title: string,
  fn: (s: Store, o: { openSecond: () => Promise<Store> }) => Promise<void>,
) => void;

const T0 = 1_764_000_000.5;

export function controlPlaneCases(it: StoreIt, newJob: (over?: Partial<NewJob>) => NewJob): void {
  it("recordHeard keeps the latest time per node and server; listHeard reads a site's rows", async (s, o) => {
    await s.recordHeard([
      { node: "n1", site: "local", server: "A", at: T0 },
      { node: "n2", site: "local", server: "A", at: T0 + 1 },
      { node: "x1", site: "other", server: "A", at: T0 },
    ]);
    const other = await o.openSecond();
    await other.recordHeard([{ node: "n1", site: "local", server: "B", at: T0 + 5 }]);
    // A late write of an older time (a slow flush) never moves a node back in time.
    await s.recordHeard([{ node: "n1", site: "local", server: "A", at: T0 - 10 }]);
    await s.recordHeard([{ node: "n2", site: "local", server: "A", at: T0 + 7 }]);
    await s.recordHeard([]);
    assert.deepEqual(await s.listHeard("local"), [
      { node: "n1", site: "local", server: "A", at: T0 },
      { node: "n1", site: "local", server: "B", at: T0 + 5 },
      { node: "n2", site: "local", server: "A", at: T0 + 7 },
    ]);
    assert.deepEqual(await other.listHeard("other"), [{ node: "x1", site: "other", server: "A", at: T0 }]);
    assert.deepEqual(await s.listHeard("nowhere"), []);
  });

  it("agent connections: one holder per node, the newest wins; only the holder's disconnect removes it", async (s, o) => {
    const other = await o.openSecond();
    await s.connectAgent({ node: "n1", site: "local", server: "A", since: T0 });
    await s.connectAgent({ node: "n2", site: "local", server: "A", since: T0 });
    await s.connectAgent({ node: "x1", site: "other", server: "A", since: T0 });
    await other.connectAgent({ node: "n1", site: "local", server: "B", since: T0 + 5 });
    await s.disconnectAgent("n1", "A");
    assert.deepEqual(await s.listAgentConnections("local"), [
      { node: "n1", site: "local", server: "B", since: T0 + 5 },
      { node: "n2", site: "local", server: "A", since: T0 },
    ]);
    await s.disconnectAgent("n2", "A");
    assert.deepEqual(
      (await other.listAgentConnections("local")).map((c) => c.node),
      ["n1"],
    );
    assert.deepEqual(
      (await other.listAgentConnections("other")).map((c) => c.server),
      ["A"],
    );
  });

  it("node credentials: one digest per node of a site; issuing again replaces it", async (s, o) => {
    assert.equal(await s.getNodeCredential("local", "n1"), undefined);
    await s.setNodeCredential("local", "n1", "aa", T0);
    await s.setNodeCredential("other", "n1", "bb", T0);
    assert.equal(await s.getNodeCredential("local", "n1"), "aa");
    await s.setNodeCredential("local", "n1", "cc", T0 + 1);
    const other = await o.openSecond();
    assert.equal(await other.getNodeCredential("local", "n1"), "cc");
    assert.equal(await other.getNodeCredential("other", "n1"), "bb");
    assert.equal(await other.getNodeCredential("local", "n2"), undefined);
  });

  it("claimLeadership: one leader per site; renewable by its holder; taken over only once expired; released", async (s, o) => {
    const other = await o.openSecond();
    assert.equal(await s.claimLeadership("local", "A", T0 + 8, T0), true);
    assert.equal(await other.claimLeadership("local", "B", T0 + 9, T0 + 1), false, "A's lease runs");
    assert.equal(await other.claimLeadership("other", "B", T0 + 9, T0 + 1), true, "per site");
    assert.equal(await s.claimLeadership("local", "A", T0 + 10, T0 + 2), true, "renewed");
    assert.equal(await other.claimLeadership("local", "B", T0 + 17, T0 + 9), false, "renewed until T0+10");
    assert.equal(await other.claimLeadership("local", "B", T0 + 19, T0 + 11), true, "expired: taken over");
    assert.equal(await s.claimLeadership("local", "A", T0 + 20, T0 + 12), false, "A lost it");
    await s.releaseLeadership("local", "A");
    assert.equal(await s.claimLeadership("local", "A", T0 + 21, T0 + 13), false, "only the holder releases");
    await other.releaseLeadership("local", "B");
    assert.equal(await s.claimLeadership("local", "A", T0 + 22, T0 + 14), true, "released: free at once");
  });

  it("listJobsEndedSince: started jobs that ended since a time, oldest end first", async (s) => {
    const end = async (at: number, state: "terminated" | "error", started: boolean) => {
      const j = await s.insertJob(newJob(), { at: T0, description: "submitted" });
      const [r] = await s.updateJobs([
        {
          id: j.id,
          expect: { state: "waiting" },
          patch: {
            state,
            stoppedAt: at,
            ...(started ? { startedAt: at - 100, assignedNodes: [{ node: "n1", cores: 2 }] } : {}),
          },
          event: { at, type: "END", description: "ended" },
        },
      ]);
      return r!;
    };
    const late = await end(T0 + 50, "terminated", true);
    await end(T0 - 50, "terminated", true);
    const failed = await end(T0 + 10, "error", true);
    await end(T0 + 20, "error", false);
    await s.insertJob(newJob(), { at: T0, description: "submitted" });
    const got = await s.listJobsEndedSince(T0, 100);
    assert.deepEqual(
      got.map((j) => j.id),
      [failed.id, late.id],
    );
    assert.deepEqual(got[1], late);
    assert.equal((await s.listJobsEndedSince(T0, 1)).length, 1);
  });
}
