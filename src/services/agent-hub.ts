// Use case: talk to agents. Registers their connections, hands out leases, records their
// reports (started, finished, failed) as job transitions batched per tick, acknowledges final
// reports, and reads files on nodes. Node liveness (alive, suspected, dead) is in node-liveness.ts.

import type { Readable } from "node:stream";
import type { JobRecord } from "../domain/job.ts";
import { eventName, transition } from "../domain/job-state.ts";
import {
  AGENT_PROTOCOL_VERSION,
  type AgentChannel,
  type AgentToServer,
  checkAgentMessage,
  type JobReport,
  type KnownLease,
  type Lease,
  type ServerToAgent,
} from "../protocol/agent-messages.ts";
import type { JobUpdate } from "../store/contract.ts";
import { eventOfReport, leaseOf } from "./agent-leases.ts";
import { AgentReads, type ExecRequest, type ReadRequest } from "./agent-reads.ts";
import type { ServiceDeps } from "./context.ts";
import { NodeLiveness, type NodeStatus } from "./node-liveness.ts";
import { NodeMetrics } from "./node-metrics.ts";
import type { Dispatcher, Scheduler } from "./schedule-jobs.ts";

type Channel = AgentChannel<AgentToServer, ServerToAgent>;

interface Connected {
  site: string;
  channel: Channel;
  reads: AgentReads;
}

interface Pending {
  report: JobReport;
  channel: Channel;
}

export class AgentHub implements Dispatcher {
  readonly #deps: ServiceDeps;
  readonly #scheduler: Scheduler;
  readonly #agents = new Map<string, Connected>();
  readonly liveness: NodeLiveness;
  readonly metrics: NodeMetrics;
  #pending: Pending[] = [];
  #flush: Promise<void> | null = null;
  #jobToken: ((job: JobRecord) => Promise<string>) | null = null;
  #publicUrl: string | null = null;

  constructor(deps: ServiceDeps, scheduler: Scheduler) {
    this.#deps = deps;
    this.#scheduler = scheduler;
    scheduler.setDispatcher(this);
    this.metrics = new NodeMetrics(deps.config.agents.metricsHistory);
    this.liveness = new NodeLiveness(deps, {
      kill: (job, reason) => this.kill(job, reason),
      poke: (site) => scheduler.poke(site),
      isConnected: (node) => this.#agents.has(node),
    });
  }

  /** Give jobs a token for their own calls to the server (`gridq exec`), and its URL. */
  setJobAccess(o: { token: (job: JobRecord) => Promise<string>; url?: string }): void {
    this.#jobToken = o.token;
    if (o.url) this.#publicUrl = o.url;
  }

  setPublicUrl(url: string): void {
    this.#publicUrl = url;
  }

  /** The lease of a job's current run, with the job's own token (scoped to it, for its walltime). */
  async #leaseFor(job: JobRecord): Promise<Lease> {
    const lease = leaseOf(job, this.#deps.config.jobs.defaultDirectory);
    if (this.#publicUrl) lease.serverUrl = this.#publicUrl;
    if (this.#jobToken) lease.jobToken = await this.#jobToken(job);
    return lease;
  }

  /**
   * Messages about leases go out in order per connection: a `run` waits for its token to be
   * signed, and a `kill` sent meanwhile must not overtake it (the agent would ignore a kill for
   * a lease it does not know yet, then run the job).
   */
  readonly #queues = new WeakMap<Channel, Promise<void>>();

  #sendInOrder(channel: Channel, msg: Promise<ServerToAgent | null>): void {
    const next = (this.#queues.get(channel) ?? Promise.resolve())
      .then(() => msg)
      .then((m) => {
        if (m) channel.send(m);
      })
      .catch((e) => this.#deps.log.error({ err: e }, "preparing a message to an agent failed"));
    this.#queues.set(channel, next);
  }

  #sendRun(channel: Channel, job: JobRecord): void {
    this.#sendInOrder(
      channel,
      this.#leaseFor(job).then((lease) => ({ type: "run", lease })),
    );
  }

  /**
   * Take a new connection; it becomes a node once its hello names a node of the site (and, for
   * a remote agent, the node its credential was issued for).
   */
  attach(site: string, channel: Channel, o: { node?: string } = {}): void {
    let node: string | null = null;
    channel.onMessage((raw) => {
      const msg = checkAgentMessage(raw);
      if (!msg) {
        this.#deps.log.warn({ node }, "malformed agent message: connection closed");
        channel.close();
        return;
      }
      if (msg.type === "hello") {
        if (node === null) node = this.#hello(site, channel, msg, o.node);
        return;
      }
      if (node === null) {
        channel.close();
        return;
      }
      this.liveness.heard(node);
      switch (msg.type) {
        case "heartbeat":
          return;
        case "metrics":
          return this.metrics.record(site, node, msg.at, msg.values);
        case "data":
        case "end":
          return this.#agents.get(node)?.reads.deliver(msg);
        default:
          this.#pending.push({ report: msg, channel });
          this.#flush ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#applyReports());
      }
    });
    channel.onClose(() => {
      const c = node === null ? undefined : this.#agents.get(node);
      if (node !== null && c?.channel === channel) {
        this.#agents.delete(node);
        c.reads.closeAll();
        this.#deps.log.warn({ node }, "agent disconnected");
        // The node leaves the plan: predictions (and what may start) change.
        this.#scheduler.poke(c.site);
      }
    });
  }

  #hello(
    site: string,
    channel: Channel,
    msg: Extract<AgentToServer, { type: "hello" }>,
    expected: string | undefined,
  ): string | null {
    const refuse = (reason: string, retry = false): null => {
      this.#deps.log.warn({ node: msg.node, site, version: msg.version }, `agent refused: ${reason}`);
      channel.send({ type: "reject", reason, ...(retry ? { retry } : {}) });
      channel.close();
      return null;
    };
    if (msg.version !== AGENT_PROTOCOL_VERSION) {
      return refuse(
        `agent protocol version ${msg.version} is not supported (the server speaks ${AGENT_PROTOCOL_VERSION})`,
      );
    }
    if (expected !== undefined && msg.node !== expected) {
      return refuse(`this credential is for node ${expected}, not ${msg.node}`);
    }
    if (!this.#deps.nodes.nodes(site).some((n) => n.uid === msg.node)) {
      return refuse(`node ${msg.node} is not a node of site ${site}`);
    }
    const previous = this.#agents.get(msg.node);
    if (previous && this.liveness.state(msg.node) === "alive") {
      // One agent per node. The connected one still speaks (heartbeats): a second one presenting
      // the node's credential is refused, and never gets to reconcile (its empty `running` would
      // declare the first one's jobs lost). An agent restarted after a network cut the server
      // has not noticed yet retries: once the old connection has been silent for
      // agents.suspectAfter, the node is `suspected` and the newcomer replaces it (below).
      return refuse(`node ${msg.node} already has a connected agent`, true);
    }
    this.#agents.set(msg.node, { site, channel, reads: new AgentReads((m) => channel.send(m)) });
    // The old connection has gone silent: it is dropped, and reads in flight on it end now.
    previous?.reads.closeAll();
    previous?.channel.close();
    this.liveness.heard(msg.node);
    channel.send({
      type: "welcome",
      version: AGENT_PROTOCOL_VERSION,
      heartbeat: this.#deps.config.agents.heartbeatInterval,
      metrics: this.#deps.config.agents.metricsInterval,
    });
    this.#deps.log.info({ node: msg.node, known: msg.running.length }, "agent connected");
    void this.#reconcile(site, msg.node, channel, msg.running).catch((e) =>
      this.#deps.log.error({ err: e, node: msg.node }, "reconciling agent failed"),
    );
    return msg.node;
  }

  /**
   * Compare what the store and the agent believe. A launching job the agent does not know never
   * reached it: its `run` is sent again (the agent records a lease before running it, so a lease
   * it does not know was never started). A running job it does not know is lost. A lease the
   * agent still runs but the store no longer gives it (the node was declared dead meanwhile, or
   * the job was canceled) is killed, and so is one canceled while its node was away.
   */
  async #reconcile(site: string, node: string, channel: Channel, known: KnownLease[]): Promise<void> {
    const byLease = new Map(known.map((k) => [k.leaseId, k]));
    const active = await this.#deps.store.listJobsInStates(site, ["launching", "running"], 1_000_000);
    const now = this.#deps.clock.now();
    const updates: JobUpdate[] = [];
    const mine = new Set<string>();
    for (const job of active) {
      if (job.assignedNodes[0]?.node !== node || !job.leaseId) continue;
      mine.add(job.leaseId);
      if (byLease.has(job.leaseId)) {
        // A cancel made while the node was away never reached it: say it again.
        if (job.cancelRequested && !byLease.get(job.leaseId)!.done) this.kill(job, "canceled");
        continue;
      }
      if (job.state === "launching") {
        this.#sendRun(channel, job);
        // Canceled before its agent got it: the kill follows the run, in order.
        if (job.cancelRequested) this.kill(job, "canceled");
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
        this.#sendInOrder(
          channel,
          Promise.resolve({
            type: "kill",
            leaseId: k.leaseId,
            jobId: k.jobId,
            reason: "the job no longer runs on this node",
          }),
        );
      }
    }
    await this.#deps.store.updateJobs(updates);
    this.#scheduler.poke(site);
  }

  /** Nodes that can take work now: connected, and not silent. */
  connectedNodes(site: string): ReadonlySet<string> {
    const out = new Set<string>();
    for (const [node, c] of this.#agents)
      if (c.site === site && this.liveness.state(node) === "alive") out.add(node);
    return out;
  }

  nodeStatus(site: string): NodeStatus[] {
    return this.liveness.list(
      site,
      this.#deps.nodes.nodes(site).map((n) => n.uid),
    );
  }

  dispatch(job: JobRecord): void {
    const head = job.assignedNodes[0]?.node;
    const agent = head ? this.#agents.get(head) : undefined;
    if (!agent) {
      // The node went away between placement and hand-over: when its agent comes back, the
      // reconcile sends this never-acknowledged lease again; if it does not, the node dies.
      this.#deps.log.warn({ job: job.id, node: head }, "no agent for the head node");
      return;
    }
    this.#sendRun(agent.channel, job);
  }

  kill(job: JobRecord, reason: string): void {
    const head = job.assignedNodes[0]?.node;
    if (!head || !job.leaseId) return;
    const agent = this.#agents.get(head);
    if (agent) {
      this.#sendInOrder(
        agent.channel,
        Promise.resolve({ type: "kill", leaseId: job.leaseId, jobId: job.id, reason }),
      );
    }
  }

  /** Tell a running job's agent its new walltime. */
  setWalltime(job: JobRecord): void {
    const head = job.assignedNodes[0]?.node;
    const agent = head ? this.#agents.get(head) : undefined;
    if (!agent || !job.leaseId) return;
    const msg = { type: "walltime", leaseId: job.leaseId, jobId: job.id, walltime: job.walltime } as const;
    this.#sendInOrder(agent.channel, Promise.resolve(msg));
  }

  /** A file on a node, through its agent; null when the file does not exist. */
  async readOnNode(
    node: string,
    r: ReadRequest,
  ): Promise<Readable | null | { refused: string } | "unreachable"> {
    const agent = this.#agents.get(node);
    if (!agent) return "unreachable";
    return agent.reads.open(r);
  }

  /** Run a command on a node for a job: NDJSON events, or null when the node is not connected. */
  execOnNode(node: string, r: ExecRequest): Readable | null {
    return this.#agents.get(node)?.reads.exec(r) ?? null;
  }

  /** Fold a tick's reports into compare-and-set updates, in arrival order, in one transaction. */
  async #applyReports(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const ids = [...new Set(batch.map((p) => p.report.jobId))];
      const { items } = await this.#deps.store.listJobs({ ids, offset: 0, limit: ids.length });
      const jobs = new Map(items.map((j) => [j.id, j]));
      const updates: JobUpdate[] = [];
      const sites = new Set<string>();
      for (const { report: r } of batch) {
        const job = jobs.get(r.jobId);
        if (!job) continue;
        const event = eventOfReport(r);
        let t: ReturnType<typeof transition>;
        try {
          t = transition(job, event);
        } catch {
          // A stale or repeated report (its lease is no longer the job's): acknowledged, ignored.
          this.#deps.log.debug({ job: r.jobId, report: r.type }, "stale agent report ignored");
          continue;
        }
        const note = r.type === "finished" && r.note ? { message: `${t.patch.message}: ${r.note}` } : {};
        updates.push({
          id: job.id,
          expect: { state: job.state, leaseId: job.leaseId },
          patch: { ...t.patch, ...note },
          event: { at: event.at, type: eventName(event.type), description: t.description },
        });
        jobs.set(job.id, { ...job, ...t.patch } as JobRecord);
        if (r.type !== "started") sites.add(job.site);
      }
      const results = await this.#deps.store.updateJobs(updates);
      // Only now, with the result durable (or known stale), may the agent forget it.
      for (const { report, channel } of batch) {
        if (report.type === "started") continue;
        channel.send({ type: "ack", leaseId: report.leaseId });
        // What `gridq exec` started for the job on its nodes ends with it.
        for (const a of jobs.get(report.jobId)?.assignedNodes ?? []) {
          this.#agents.get(a.node)?.channel.send({ type: "exec-kill", jobId: report.jobId });
        }
      }
      // Their cores are free now: submissions may take them before the pass has run.
      results.forEach((job, i) => {
        const state = updates[i]!.patch.state;
        if (job && (state === "terminated" || state === "error")) this.#scheduler.ended(job);
      });
      for (const s of sites) this.#scheduler.poke(s, { now: true });
    } catch (e) {
      // Not acknowledged: the agent sends these results again on its next connection.
      this.#deps.log.error({ err: e }, "recording agent reports failed");
    } finally {
      this.#flush = null;
      if (this.#pending.length > 0) {
        this.#flush = new Promise<void>((r) => setImmediate(r)).then(() => this.#applyReports());
      }
    }
  }

  /** Resolves once every report received so far is recorded. */
  async settled(): Promise<void> {
    while (this.#flush) await this.#flush;
    await this.liveness.settled();
  }

  close(): void {
    this.liveness.stop();
  }
}
