// What one server does for the others each tick when several share the store: it delivers the
// messages left for the agents it holds (`agent_messages`), checking each against the job's row
// (a run only while the job is still launching on that lease), and tells whether any server
// changed a job since the last tick (the store's change marker), so that the leader plans
// submissions and freed cores recorded elsewhere within about a tick.

import type { ServiceDeps } from "../context.ts";
import type { AgentPort } from "./agent-port.ts";

export class AgentDelivery {
  readonly #deps: ServiceDeps;
  /** This server's own connections (the hub). */
  readonly #local: AgentPort;
  #marker: number | null = null;
  delivered = 0;

  constructor(deps: ServiceDeps, o: { local: AgentPort }) {
    this.#deps = deps;
    this.#local = o.local;
  }

  /** Deliver the messages queued for nodes whose agent is connected here; returns how many. */
  async deliver(): Promise<number> {
    const nodes = this.#deps.nodes.sites().flatMap((s) => [...this.#local.connected(s)]);
    const messages = await this.#deps.store.takeAgentMessages(nodes);
    for (const m of messages) {
      // The row is removed: a failure here is logged, and the agent's next hello (reconcile)
      // sends a launching job's run and a canceled job's kill again.
      try {
        switch (m.kind) {
          case "kill":
            if (m.leaseId)
              this.#local.kill({ node: m.node, leaseId: m.leaseId, jobId: m.jobId }, m.reason ?? "");
            break;
          case "exec-kill":
            this.#local.endExecs(m.node, m.jobId);
            break;
          case "run":
          case "walltime": {
            // The job's row says what to send, and whether it still holds: a job canceled or
            // ended since is not started; a repeated run of one lease is ignored by the agent.
            const job = await this.#deps.store.getJob(m.jobId);
            if (!job || job.leaseId !== m.leaseId) break;
            if (m.kind === "run" && job.state === "launching") {
              this.#local.run(job);
              // Canceled meanwhile (its kill, from another server, may have come first): in order.
              if (job.cancelRequested)
                this.#local.kill({ node: m.node, leaseId: m.leaseId!, jobId: job.id }, "canceled");
            }
            if (m.kind === "walltime" && (job.state === "launching" || job.state === "running"))
              this.#local.walltime(job);
            break;
          }
        }
        this.delivered++;
      } catch (e) {
        this.#deps.log.error(
          { err: e, node: m.node, job: m.jobId, kind: m.kind },
          "delivering to an agent failed",
        );
      }
    }
    return messages.length;
  }

  /** Drop messages nobody delivered for `agents.deadAfter` (their node is dead by then). */
  async purge(): Promise<void> {
    const n = await this.#deps.store.purgeAgentMessages(
      this.#deps.clock.now() - this.#deps.config.agents.deadAfter,
    );
    if (n > 0) this.#deps.log.warn({ messages: n }, "dropped messages for agents that no server held");
  }

  /** Did any server change a job since the last call? (The first call says yes.) */
  async changed(): Promise<boolean> {
    const marker = await this.#deps.store.changeMarker();
    const was = this.#marker;
    this.#marker = marker;
    return was !== marker;
  }
}
