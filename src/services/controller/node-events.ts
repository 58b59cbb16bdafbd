// What an agent's return or a node's death means for jobs. On hello, the store and the agent
// compare what they believe; a dead node's jobs end in error and their other nodes are told.

import type { JobRecord } from "../../domain/job.ts";
import { eventName, transition } from "../../domain/job-state.ts";
import type { KnownLease } from "../../protocol/agent-messages.ts";
import type { JobUpdate } from "../../store/contract.ts";
import type { ServiceDeps } from "../context.ts";
import { type AgentPort, headLease } from "./agent-port.ts";
import type { DeadNode } from "./node-liveness.ts";

const ACTIVE = ["launching", "running"] as const;

/**
 * A launching job the agent does not know never reached it: its `run` is sent again (the agent
 * records a lease before running it, so a lease it does not know was never started). A running
 * job it does not know is lost. A lease the agent still runs but the store no longer gives it
 * (the node was declared dead meanwhile, or the job was canceled) is killed, and so is one
 * canceled while its node was away.
 */
export async function reconcileAgent(
  deps: ServiceDeps,
  port: AgentPort,
  site: string,
  node: string,
  known: readonly KnownLease[],
): Promise<void> {
  const byLease = new Map(known.map((k) => [k.leaseId, k]));
  const active = await deps.store.listJobsInStates(site, [...ACTIVE], 1_000_000);
  const now = deps.clock.now();
  const updates: JobUpdate[] = [];
  const mine = new Set<string>();
  for (const job of active) {
    const lease = headLease(job);
    if (lease?.node !== node) continue;
    mine.add(lease.leaseId);
    if (byLease.has(lease.leaseId)) {
      // A cancel made while the node was away never reached it: say it again.
      if (job.cancelRequested && !byLease.get(lease.leaseId)!.done) port.kill(lease, "canceled");
      continue;
    }
    if (job.state === "launching") {
      port.run(job);
      // Canceled before its agent got it: the kill follows the run, in order.
      if (job.cancelRequested) port.kill(lease, "canceled");
      continue;
    }
    const t = transition(job, { type: "node-lost", at: now, node });
    updates.push({
      id: job.id,
      expect: { state: job.state, leaseId: job.leaseId },
      patch: { ...t.patch, message: `node ${node} lost: its agent came back without the job` },
      event: { at: now, type: eventName("node-lost"), description: t.description },
    });
  }
  for (const k of known) {
    if (!k.done && !mine.has(k.leaseId)) {
      port.kill({ node, leaseId: k.leaseId, jobId: k.jobId }, "the job no longer runs on this node");
    }
  }
  await deps.store.updateJobs(updates);
}

/** Every active job using a dead node ends in error; returns how many did. */
export async function failJobsOnDeadNodes(
  deps: ServiceDeps,
  port: AgentPort,
  site: string,
  dead: readonly DeadNode[],
): Promise<number> {
  const silentOf = new Map(dead.map((d) => [d.node, d.silent]));
  const active = await deps.store.listJobsInStates(site, [...ACTIVE], 1_000_000);
  const now = deps.clock.now();
  const updates: JobUpdate[] = [];
  const victims: JobRecord[] = [];
  for (const job of active) {
    const node = job.assignedNodes.find((a) => silentOf.has(a.node))?.node;
    if (!node) continue;
    const t = transition(job, { type: "node-lost", at: now, node });
    updates.push({
      id: job.id,
      expect: { state: job.state, leaseId: job.leaseId },
      patch: { ...t.patch, message: `node ${node} dead: no word from its agent for ${silentOf.get(node)} s` },
      event: { at: now, type: eventName("node-lost"), description: `node ${node} dead` },
    });
    victims.push(job);
  }
  const results = await deps.store.updateJobs(updates);
  results.forEach((r, i) => {
    // The head node may be alive (a dead secondary node): its process must not run on.
    const lease = r ? headLease(victims[i]!) : null;
    if (lease) port.kill(lease, "a node of the job is dead");
  });
  return updates.length;
}
