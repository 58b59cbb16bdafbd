// A connected pair of agent channels inside one process: the embedded agent's transport.
// Messages are delivered asynchronously and in order, as over a socket.

import type { AgentChannel } from "./agent-messages.ts";

class Side<In, Out> implements AgentChannel<In, Out> {
  peer!: Side<Out, In>;
  #handlers: ((m: In) => void)[] = [];
  #closeHandlers: (() => void)[] = [];
  #queue: In[] = [];
  #scheduled = false;
  closed = false;

  send(msg: Out): void {
    if (this.closed) return;
    this.peer.#deliver(msg);
  }

  #deliver(msg: In): void {
    this.#queue.push(msg);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      const q = this.#queue;
      this.#queue = [];
      for (const m of q) for (const h of this.#handlers) h(m);
    });
  }

  onMessage(handler: (msg: In) => void): void {
    this.#handlers.push(handler);
  }
  onClose(handler: () => void): void {
    this.#closeHandlers.push(handler);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.peer.close();
    for (const h of this.#closeHandlers) h();
  }
}

/** Returns [serverSide, agentSide]. */
export function createChannelPair<A, S>(): [AgentChannel<A, S>, AgentChannel<S, A>] {
  const server = new Side<A, S>();
  const agent = new Side<S, A>();
  server.peer = agent;
  agent.peer = server;
  return [server, agent];
}
