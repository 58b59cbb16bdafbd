// An agent channel over a WebSocket: one JSON message per text frame. Used by `gridq agent`
// (client side, package `ws`) and by the server's agents route (@fastify/websocket, also `ws`).

import type { AgentChannel } from "./agent-messages.ts";

/** The part of a `ws` WebSocket the channel uses (both ends). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: "message", handler: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: "close", handler: () => void): unknown;
  on(event: "error", handler: (e: Error) => void): unknown;
}

const OPEN = 1;
/** Largest message accepted; output chunks are 64 KiB before base64. */
export const MAX_AGENT_MESSAGE = 1024 * 1024;

export function webSocketChannel<In, Out>(
  ws: WebSocketLike,
  onBadMessage?: (why: string) => void,
): AgentChannel<In, Out> {
  const closeHandlers: (() => void)[] = [];
  let closed = false;
  const onClosed = () => {
    if (closed) return;
    closed = true;
    for (const h of closeHandlers) h();
  };
  ws.on("close", onClosed);
  // An error is followed by 'close'; listening here keeps it from being thrown.
  ws.on("error", () => {});
  return {
    send(msg) {
      if (!closed && ws.readyState === OPEN) ws.send(JSON.stringify(msg));
    },
    onMessage(handler) {
      ws.on("message", (data, isBinary) => {
        let msg: unknown;
        try {
          if (isBinary) throw new Error("binary frame");
          msg = JSON.parse(String(data));
          if (!msg || typeof msg !== "object" || typeof (msg as { type?: unknown }).type !== "string")
            throw new Error("not a message object");
        } catch (e) {
          // A peer speaking something else: drop the connection rather than guess.
          onBadMessage?.((e as Error).message);
          ws.close(1003, "bad message");
          return;
        }
        handler(msg as In);
      });
    },
    onClose(handler) {
      closeHandlers.push(handler);
    },
    close() {
      if (ws.readyState === OPEN || ws.readyState === 0) ws.close(1000);
      onClosed();
    },
  };
}
