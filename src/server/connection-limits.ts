// Connection-level limits: caps on open connections (total, per client address) and the Node
// HTTP server's timeouts and header size.

import type { Server } from "node:net";
import type { Duplex } from "node:stream";
import { rawAnswer } from "./plugins/errors.ts";

export interface ConnectionLimits {
  /** Seconds. */
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
}

/** Largest request head (request line and headers) Node's parser accepts: its default, named. */
export const MAX_HEADER_SIZE = 16 * 1024;

/**
 * Options for the `node:http`/`node:https` server, given at construction. Node checks the
 * headers and request timeouts every `connectionsCheckingInterval`, 30 s by default: far coarser
 * than a short timeout, so it follows the headers timeout.
 */
export function httpServerOptions(l: ConnectionLimits) {
  return {
    headersTimeout: l.headersTimeout * 1000,
    requestTimeout: l.requestTimeout * 1000,
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, (l.headersTimeout * 1000) / 4)),
    maxHeaderSize: MAX_HEADER_SIZE,
  };
}

/**
 * Count connections by client address and in total; one over a cap is answered 503 (plain HTTP)
 * or closed (TLS: nothing readable can be written before the handshake) before the HTTP layer
 * sees it. So one address opening sockets without end (slowloris) takes at most its share.
 */
export function capConnections(server: Server, l: ConnectionLimits, tls: boolean): () => number {
  const perClient = new Map<string, number>();
  let total = 0;
  server.prependListener("connection", (socket: Duplex & { remoteAddress?: string }) => {
    const addr = socket.remoteAddress ?? "";
    const mine = perClient.get(addr) ?? 0;
    if (total >= l.maxConnections || mine >= l.maxConnectionsPerClient) {
      const which =
        total >= l.maxConnections
          ? `${l.maxConnections} connections in total`
          : `${l.maxConnectionsPerClient} connections from ${addr}`;
      refuse(socket, tls, `the server already holds ${which}; retry later`);
      return;
    }
    total++;
    perClient.set(addr, mine + 1);
    socket.once("close", () => {
      total--;
      const n = (perClient.get(addr) ?? 1) - 1;
      if (n > 0) perClient.set(addr, n);
      else perClient.delete(addr);
    });
  });
  return () => total;
}

function refuse(socket: Duplex, tls: boolean, message: string): void {
  // The HTTP layer's own listener still runs on this socket: it finds it closed, or closing.
  socket.on("error", () => {});
  if (tls) {
    socket.destroy();
    return;
  }
  socket.end(rawAnswer("GRIDQ_TOO_MANY_CONNECTIONS", message));
  // A client that never reads must not keep the socket: it goes after a second in any case.
  setTimeout(() => socket.destroy(), 1000).unref();
}
