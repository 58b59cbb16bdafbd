// The agents' side of the control plane: their connections. Implements the controller's
// AgentPort over them (run, kill, walltime, reads, exec) and posts what agents say into the
// controller's inbox as facts (agentConnected, report, agentLost); acknowledges a final report
// once the controller has it recorded. Deciding what reports mean is the controller's.

import type { Readable } from "node:stream";
import type { JobRecord } from "../domain/job.ts";
import {
  AGENT_PROTOCOL_VERSION,
  type AgentChannel,
  type AgentToServer,
  checkAgentMessage,
  type JobReport,
  type Lease,
  type ServerToAgent,
} from "../protocol/agent-messages.ts";
import { leaseOf } from "./agent-leases.ts";
import { AgentReads } from "./agent-reads.ts";
import type { ServiceDeps } from "./context.ts";
import type { AgentPort, ExecRequest, LeaseRef, ReadRequest, ReadResult } from "./controller/agent-port.ts";
import type { FactSink } from "./controller/facts.ts";
import type { NodeLiveness } from "./controller/node-liveness.ts";
import { NodeMetrics } from "./node-metrics.ts";

type Channel = AgentChannel<AgentToServer, ServerToAgent>;

interface Connected {
  site: string;
  channel: Channel;
  reads: AgentReads;
  /** Connected with a node credential (a `gridq agent`), not the embedded agent. */
  remote: boolean;
}

export class AgentHub implements AgentPort {
  readonly #deps: ServiceDeps;
  readonly #inbox: FactSink;
  readonly #liveness: NodeLiveness;
  /** This server's name in the store's `agent_connections` rows. */
  readonly #server: string;
  readonly #agents = new Map<string, Connected>();
  readonly metrics: NodeMetrics;
  readonly #jobToken: ((job: JobRecord) => Promise<string>) | null;
  #publicUrl: string | null = null;

  /**
   * `inbox`: where agents' facts go; `liveness`: told of every message heard from a node;
   * `server`: this server's name in the store's rows of who holds which connection.
   */
  constructor(
    deps: ServiceDeps,
    o: {
      inbox: FactSink;
      liveness: NodeLiveness;
      server: string;
      /** The token a job gets for its own calls to the server (`gridq exec`). */
      jobToken?: (job: JobRecord) => Promise<string>;
    },
  ) {
    this.#deps = deps;
    this.#inbox = o.inbox;
    this.#liveness = o.liveness;
    this.#server = o.server;
    this.#jobToken = o.jobToken ?? null;
    this.metrics = new NodeMetrics(deps.config.agents.metricsHistory);
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
      this.#liveness.heard(site, node);
      switch (msg.type) {
        case "heartbeat":
          return;
        case "metrics":
          return this.metrics.record(site, node, msg.at, msg.values);
        case "data":
        case "end":
          return this.#agents.get(node)?.reads.deliver(msg);
        default:
          return this.#report(site, node, channel, msg);
      }
    });
    channel.onClose(() => {
      const c = node === null ? undefined : this.#agents.get(node);
      if (node !== null && c?.channel === channel) {
        this.#agents.delete(node);
        c.reads.closeAll();
        this.#deps.log.warn({ node }, "agent disconnected");
        this.#record(this.#deps.store.disconnectAgent(node, this.#server));
        void this.#inbox.post({ type: "agentLost", site: c.site, node });
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
    if (previous && this.#liveness.state(msg.node) === "alive") {
      // One agent per node. The connected one still speaks (heartbeats): a second one presenting
      // the node's credential is refused, and never gets to reconcile (its empty `running` would
      // declare the first one's jobs lost). An agent restarted after a network cut the server
      // has not noticed yet retries: once the old connection has been silent for
      // agents.suspectAfter, the node is `suspected` and the newcomer replaces it (below).
      return refuse(`node ${msg.node} already has a connected agent`, true);
    }
    this.#agents.set(msg.node, {
      site,
      channel,
      reads: new AgentReads((m) => channel.send(m)),
      remote: expected !== undefined,
    });
    // The old connection has gone silent: it is dropped, and reads in flight on it end now.
    previous?.reads.closeAll();
    previous?.channel.close();
    this.#liveness.heard(site, msg.node);
    const since = this.#deps.clock.now();
    this.#record(this.#deps.store.connectAgent({ node: msg.node, site, server: this.#server, since }));
    channel.send({
      type: "welcome",
      version: AGENT_PROTOCOL_VERSION,
      heartbeat: this.#deps.config.agents.heartbeatInterval,
      metrics: this.#deps.config.agents.metricsInterval,
    });
    this.#deps.log.info({ node: msg.node, known: msg.running.length }, "agent connected");
    // The controller compares what the store and the agent believe (and sends runs and kills).
    void this.#inbox.post({ type: "agentConnected", site, node: msg.node, known: msg.running });
    return msg.node;
  }

  /** Who holds which connection is a row for other servers to read; a failed write is logged. */
  #record(write: Promise<void>): void {
    write.catch((e: unknown) => this.#deps.log.error({ err: e }, "recording an agent connection failed"));
  }

  /** A report goes to the controller; the agent may forget it once it is recorded. */
  #report(site: string, node: string, channel: Channel, report: JobReport): void {
    this.#inbox.post({ type: "report", site, node, report }).then(
      () => {
        if (report.type !== "started") channel.send({ type: "ack", leaseId: report.leaseId });
      },
      // Not acknowledged: the agent sends it again on its next connection (the error is logged).
      () => {},
    );
  }

  /**
   * Close the connection of a node's remote agent, telling it why (a final refusal: it stops
   * retrying). For a replaced credential: the old one no longer holds a live connection either.
   */
  disconnect(node: string, reason: string): boolean {
    const c = this.#agents.get(node);
    if (!c?.remote) return false;
    this.#deps.log.warn({ node }, `agent disconnected: ${reason}`);
    c.channel.send({ type: "reject", reason });
    c.channel.close();
    return true;
  }

  connected(site: string): ReadonlySet<string> {
    const out = new Set<string>();
    for (const [node, c] of this.#agents) if (c.site === site) out.add(node);
    return out;
  }

  run(job: JobRecord): void {
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

  kill(lease: LeaseRef, reason: string): void {
    const agent = this.#agents.get(lease.node);
    if (!agent) return;
    const msg = { type: "kill", leaseId: lease.leaseId, jobId: lease.jobId, reason } as const;
    this.#sendInOrder(agent.channel, Promise.resolve(msg));
  }

  walltime(job: JobRecord): void {
    const head = job.assignedNodes[0]?.node;
    const agent = head ? this.#agents.get(head) : undefined;
    if (!agent || !job.leaseId) return;
    const msg = { type: "walltime", leaseId: job.leaseId, jobId: job.id, walltime: job.walltime } as const;
    this.#sendInOrder(agent.channel, Promise.resolve(msg));
  }

  endExecs(node: string, jobId: number): void {
    this.#agents.get(node)?.channel.send({ type: "exec-kill", jobId });
  }

  /** A file on a node, through its agent; null when the file does not exist. */
  async readOutput(node: string, r: ReadRequest): Promise<ReadResult> {
    const agent = this.#agents.get(node);
    if (!agent) return "unreachable";
    return agent.reads.open(r);
  }

  /** Run a command on a node for a job: NDJSON events, or null when the node is not connected. */
  exec(node: string, r: ExecRequest): Readable | null {
    return this.#agents.get(node)?.reads.exec(r) ?? null;
  }
}
