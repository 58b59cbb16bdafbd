// Use case: talk to agents. Registers their connections, hands out leases, and records their
// reports (started, finished, failed) as job transitions, batched per tick.

import type { JobRecord } from "../domain/job.ts";
import { eventName, type JobEvent, transition } from "../domain/job-state.ts";
import {
  AGENT_PROTOCOL_VERSION,
  type AgentChannel,
  type AgentToServer,
  type Lease,
  type ServerToAgent,
} from "../protocol/agent-messages.ts";
import type { JobUpdate } from "../store/contract.ts";
import type { ServiceDeps } from "./context.ts";
import type { Dispatcher, Scheduler } from "./schedule-jobs.ts";
import { outputPaths } from "./submit-job.ts";

type Report = Exclude<AgentToServer, { type: "hello" }>;
type Channel = AgentChannel<AgentToServer, ServerToAgent>;

interface Connected {
  site: string;
  channel: Channel;
}

export function leaseOf(job: JobRecord): Lease {
  const out = outputPaths(job);
  return {
    leaseId: job.leaseId!,
    jobId: job.id,
    jobName: job.name,
    user: job.user,
    command: job.command,
    directory: job.directory,
    stdoutPath: out.stdout,
    stderrPath: out.stderr,
    walltime: job.walltime,
    nodes: job.assignedNodes,
    env: job.env,
  };
}

export class AgentHub implements Dispatcher {
  readonly #deps: ServiceDeps;
  readonly #scheduler: Scheduler;
  readonly #agents = new Map<string, Connected>();
  #pending: Report[] = [];
  #flush: Promise<void> | null = null;

  constructor(deps: ServiceDeps, scheduler: Scheduler) {
    this.#deps = deps;
    this.#scheduler = scheduler;
    scheduler.setDispatcher(this);
  }

  /** Take a new connection; it becomes a node once its hello names a node of the site. */
  attach(site: string, channel: Channel): void {
    let node: string | null = null;
    channel.onMessage((msg) => {
      if (msg.type === "hello") {
        node = this.#hello(site, channel, msg);
        return;
      }
      if (node === null) {
        channel.close();
        return;
      }
      this.#pending.push(msg);
      this.#flush ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#applyReports());
    });
    channel.onClose(() => {
      if (node !== null && this.#agents.get(node)?.channel === channel) {
        this.#agents.delete(node);
        this.#deps.log.warn({ node }, "agent disconnected");
      }
    });
  }

  #hello(site: string, channel: Channel, msg: Extract<AgentToServer, { type: "hello" }>): string | null {
    if (msg.version !== AGENT_PROTOCOL_VERSION) {
      this.#deps.log.warn({ node: msg.node, version: msg.version }, "agent protocol version rejected");
      channel.close();
      return null;
    }
    if (!this.#deps.nodes.nodes(site).some((n) => n.uid === msg.node)) {
      this.#deps.log.warn({ node: msg.node, site }, "agent names a node absent from the site");
      channel.close();
      return null;
    }
    this.#agents.get(msg.node)?.channel.close();
    this.#agents.set(msg.node, { site, channel });
    channel.send({ type: "welcome", version: AGENT_PROTOCOL_VERSION });
    this.#deps.log.info({ node: msg.node, running: msg.running.length }, "agent connected");
    void this.#reconcile(site, msg.node, new Set(msg.running.map((r) => r.leaseId))).catch((e) =>
      this.#deps.log.error({ err: e, node: msg.node }, "reconciling agent failed"),
    );
    return msg.node;
  }

  /** Jobs the store believes run on this node, but the agent does not know, are lost. */
  async #reconcile(site: string, node: string, running: Set<string>): Promise<void> {
    const active = await this.#deps.store.listJobsInStates(site, ["launching", "running"], 1_000_000);
    const now = this.#deps.clock.now();
    const updates: JobUpdate[] = [];
    for (const job of active) {
      if (job.assignedNodes[0]?.node !== node || (job.leaseId && running.has(job.leaseId))) continue;
      const t = transition(job, { type: "node-lost", at: now, node });
      updates.push({
        id: job.id,
        expect: { state: job.state, leaseId: job.leaseId },
        patch: { ...t.patch, message: `node ${node} lost: its agent restarted without the job` },
        event: { at: now, type: eventName("node-lost"), description: t.description },
      });
    }
    await this.#deps.store.updateJobs(updates);
    this.#scheduler.poke(site);
  }

  connectedNodes(site: string): ReadonlySet<string> {
    const out = new Set<string>();
    for (const [node, c] of this.#agents) if (c.site === site) out.add(node);
    return out;
  }

  dispatch(job: JobRecord): void {
    const head = job.assignedNodes[0]?.node;
    const agent = head ? this.#agents.get(head) : undefined;
    if (!agent) {
      // The node went away between placement and hand-over: its reconcile or the lease
      // reaper ends the job; sending nowhere is safe because the lease was never acknowledged.
      this.#deps.log.warn({ job: job.id, node: head }, "no agent for the head node");
      return;
    }
    agent.channel.send({ type: "run", lease: leaseOf(job) });
  }

  kill(job: JobRecord, reason: string): void {
    const head = job.assignedNodes[0]?.node;
    if (!head || !job.leaseId) return;
    this.#agents.get(head)?.channel.send({ type: "kill", leaseId: job.leaseId, jobId: job.id, reason });
  }

  /** Fold a tick's reports into compare-and-set updates, in arrival order, in one transaction. */
  async #applyReports(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const ids = [...new Set(batch.map((r) => r.jobId))];
      const { items } = await this.#deps.store.listJobs({ ids, offset: 0, limit: ids.length });
      const jobs = new Map(items.map((j) => [j.id, j]));
      const updates: JobUpdate[] = [];
      const sites = new Set<string>();
      for (const r of batch) {
        const job = jobs.get(r.jobId);
        if (!job) continue;
        const event = this.#eventOf(r);
        let t: ReturnType<typeof transition>;
        try {
          t = transition(job, event);
        } catch {
          // A stale or repeated report (its lease is no longer the job's): acknowledged, ignored.
          this.#deps.log.debug({ job: r.jobId, report: r.type }, "stale agent report ignored");
          continue;
        }
        updates.push({
          id: job.id,
          expect: { state: job.state, leaseId: job.leaseId },
          patch: t.patch,
          event: { at: event.at, type: eventName(event.type), description: t.description },
        });
        jobs.set(job.id, { ...job, ...t.patch } as JobRecord);
        if (r.type !== "started") sites.add(job.site);
      }
      await this.#deps.store.updateJobs(updates);
      for (const s of sites) this.#scheduler.poke(s, { now: true });
    } catch (e) {
      this.#deps.log.error({ err: e }, "recording agent reports failed");
    } finally {
      this.#flush = null;
      if (this.#pending.length > 0) {
        this.#flush = new Promise<void>((r) => setImmediate(r)).then(() => this.#applyReports());
      }
    }
  }

  #eventOf(r: Report): JobEvent {
    switch (r.type) {
      case "started":
        return { type: "start", at: r.at, leaseId: r.leaseId, pid: r.pid };
      case "finished":
        return r.walltimeExceeded
          ? {
              type: "walltime-exceeded",
              at: r.at,
              leaseId: r.leaseId,
              exitCode: r.exitCode,
              signal: r.signal,
            }
          : { type: "finish", at: r.at, leaseId: r.leaseId, exitCode: r.exitCode, signal: r.signal };
      case "failed":
        return { type: "launch-failed", at: r.at, leaseId: r.leaseId, reason: r.reason };
    }
  }

  /** Resolves once every report received so far is recorded. */
  async settled(): Promise<void> {
    while (this.#flush) await this.#flush;
  }
}
