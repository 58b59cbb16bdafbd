// The agent: speaks the agent protocol over a channel and runs leases with a JobRunner.
// The embedded agent of `gridq serve` and a remote `gridq agent` are this same code.

import {
  AGENT_PROTOCOL_VERSION,
  type AgentChannel,
  type AgentToServer,
  type ServerToAgent,
} from "../protocol/agent-messages.ts";
import { ExecRunner } from "./exec-runner.ts";
import { JobRunner, type Report, type RunnerOptions } from "./job-runner.ts";
import { NodeSampler } from "./node-sampler.ts";
import { OutputSender } from "./output-sender.ts";

export interface AgentOptions extends Omit<RunnerOptions, "report"> {
  node: string;
}

type Channel = AgentChannel<ServerToAgent, AgentToServer>;

/** The server refused the hello: for good, or (`retry`) for now. */
export interface Refusal {
  reason: string;
  retry: boolean;
}

export class Agent {
  readonly node: string;
  readonly runner: JobRunner;
  #channel: Channel | null = null;
  #welcomed = false;
  /** `started` reports made while disconnected; final reports live in the runner until acked. */
  #backlog: Report[] = [];
  #heartbeat: NodeJS.Timeout | null = null;
  /** Seconds between heartbeats, as the last server that welcomed this agent asked (null: none yet). */
  heartbeatInterval: number | null = null;
  #sampling: NodeJS.Timeout | null = null;
  readonly #sampler: NodeSampler;
  readonly #outputs: OutputSender;
  readonly #execs: ExecRunner;

  constructor(o: AgentOptions) {
    this.node = o.node;
    this.runner = new JobRunner({ ...o, report: (r) => this.#report(r) });
    this.#outputs = new OutputSender(
      (m) => this.#channel?.send(m),
      (id) => this.runner.isRunning(id),
      (user) => o.accountFor({ user }),
    );
    this.#sampler = new NodeSampler(() => this.runner.known().filter((k) => !k.done).length);
    this.#execs = new ExecRunner((m) => this.#channel?.send(m), o.accountFor, o.baseEnv, o.umask);
    // Before any connection: jobs of a previous agent process are followed again.
    this.runner.recover();
  }

  /** Speak over a new connection; resolves with the server's refusal, or null, once it closes. */
  connect(channel: Channel): Promise<Refusal | null> {
    this.#channel = channel;
    this.#welcomed = false;
    let rejected: Refusal | null = null;
    channel.onMessage((msg) => {
      switch (msg.type) {
        case "welcome": {
          this.#welcomed = true;
          const backlog = this.#backlog;
          this.#backlog = [];
          for (const m of backlog) channel.send(m);
          // Results the server may never have recorded (sent before a disconnection, or found on
          // disk at start): sending one twice is harmless, the server acks stale reports too.
          for (const m of this.runner.unacknowledged()) channel.send(m);
          this.#startHeartbeat(channel, msg.heartbeat);
          this.heartbeatInterval = msg.heartbeat;
          this.#startSampling(channel, msg.metrics);
          return;
        }
        case "reject":
          rejected = { reason: msg.reason, retry: msg.retry === true };
          return;
        case "run":
          return this.runner.run(msg.lease);
        case "kill":
          return this.runner.kill(msg.leaseId);
        case "walltime":
          return this.runner.setWalltime(msg.leaseId, msg.walltime);
        case "ack":
          return this.runner.ack(msg.leaseId);
        case "read":
          void this.#outputs.serve(msg);
          return;
        case "read-cancel":
          this.#execs.cancel(msg.stream);
          return this.#outputs.cancel(msg.stream);
        case "exec":
          return this.#execs.run(msg);
        case "exec-kill":
          return this.#execs.killJob(msg.jobId);
      }
    });
    const closed = new Promise<Refusal | null>((resolve) =>
      channel.onClose(() => {
        if (this.#channel === channel) {
          this.#channel = null;
          this.#welcomed = false;
          this.#outputs.cancelAll();
          // Their caller's connection went with it: nobody would see their output.
          this.#execs.cancelAll();
          this.#stopTimers();
        }
        resolve(rejected);
      }),
    );
    channel.send({
      type: "hello",
      version: AGENT_PROTOCOL_VERSION,
      node: this.node,
      running: this.runner.known(),
    });
    return closed;
  }

  #startHeartbeat(channel: Channel, seconds: number): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    // The server declares a silent node suspected, then dead: any message counts, heartbeats
    // make sure there is one even when no job starts or ends.
    this.#heartbeat = setInterval(
      () => channel.send({ type: "heartbeat", at: Date.now() / 1000 }),
      Math.max(50, seconds * 1000),
    );
    this.#heartbeat.unref();
  }

  #startSampling(channel: Channel, seconds: number): void {
    if (this.#sampling) clearInterval(this.#sampling);
    this.#sampling = null;
    if (!(seconds > 0)) return;
    const send = () =>
      channel.send({ type: "metrics", at: Date.now() / 1000, values: this.#sampler.sample() });
    send();
    this.#sampling = setInterval(send, Math.max(100, seconds * 1000));
    this.#sampling.unref();
  }

  #stopTimers(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#sampling) clearInterval(this.#sampling);
    this.#heartbeat = null;
    this.#sampling = null;
  }

  #report(r: Report): void {
    if (this.#channel && this.#welcomed) this.#channel.send(r);
    // Final reports are re-sent from the runner on the next welcome; only `started` waits here.
    else if (r.type === "started") this.#backlog.push(r);
  }

  /** Stop: close the connection; jobs keep running, and the next agent process adopts them. */
  stop(): void {
    this.#stopTimers();
    this.runner.detach();
    this.#channel?.close();
  }
}
