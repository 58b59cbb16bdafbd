// The agent: speaks the agent protocol over a channel and runs leases with a JobRunner.
// The embedded agent of `gridq serve` and a remote `gridq agent` are this same code.

import {
  AGENT_PROTOCOL_VERSION,
  type AgentChannel,
  type AgentToServer,
  type ServerToAgent,
} from "../protocol/agent-messages.ts";
import { JobRunner, type RunnerOptions } from "./job-runner.ts";

export interface AgentOptions extends Omit<RunnerOptions, "report"> {
  node: string;
}

export class Agent {
  readonly node: string;
  readonly runner: JobRunner;
  #channel: AgentChannel<ServerToAgent, AgentToServer> | null = null;
  /** Reports made while disconnected, sent on the next connection. */
  #backlog: AgentToServer[] = [];

  constructor(o: AgentOptions) {
    this.node = o.node;
    this.runner = new JobRunner({ ...o, report: (r) => this.#send(r) });
  }

  connect(channel: AgentChannel<ServerToAgent, AgentToServer>): void {
    this.#channel = channel;
    channel.onMessage((msg) => {
      switch (msg.type) {
        case "welcome": {
          const backlog = this.#backlog;
          this.#backlog = [];
          for (const m of backlog) channel.send(m);
          return;
        }
        case "run":
          return this.runner.run(msg.lease);
        case "kill":
          return this.runner.kill(msg.leaseId);
      }
    });
    channel.onClose(() => {
      if (this.#channel === channel) this.#channel = null;
    });
    channel.send({
      type: "hello",
      version: AGENT_PROTOCOL_VERSION,
      node: this.node,
      running: this.runner.running(),
    });
  }

  #send(m: AgentToServer): void {
    if (this.#channel) this.#channel.send(m);
    else this.#backlog.push(m);
  }
}
