// An agent channel over a Node IPC pipe: the embedded agent runs as a child process of the
// server (a small process forks jobs far faster than the server's large one).

import type { AgentChannel } from "./agent-messages.ts";

/** What both `process` (in the child) and a ChildProcess (in the parent) offer. */
export interface IpcEndpoint {
  send?(msg: unknown): boolean;
  on(event: "message", handler: (msg: unknown) => void): unknown;
  on(event: "disconnect", handler: () => void): unknown;
  disconnect?(): void;
  connected?: boolean;
}

export function ipcChannel<In, Out>(ep: IpcEndpoint): AgentChannel<In, Out> {
  const closeHandlers: (() => void)[] = [];
  let closed = false;
  const onClosed = () => {
    if (closed) return;
    closed = true;
    for (const h of closeHandlers) h();
  };
  ep.on("disconnect", onClosed);
  return {
    send(msg) {
      if (!closed && ep.connected !== false) ep.send?.(msg);
    },
    onMessage(handler) {
      ep.on("message", (m) => handler(m as In));
    },
    onClose(handler) {
      closeHandlers.push(handler);
    },
    close() {
      if (ep.connected) ep.disconnect?.();
      onClosed();
    },
  };
}
