// Connection-level limits: caps on open connections (total, per client address) and the Node
// HTTP server's timeouts and header size.

import type { Server } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionSettings } from "../config/server-config.ts";
import { GridqError } from "../domain/errors.ts";
import { rawAnswer } from "./plugins/errors.ts";

/** The `server.*` connection settings (src/config/server-config.ts). */
export type ConnectionLimits = ConnectionSettings;

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

/** Connections accepted over the caps from one address, for an agent's reconnection only. */
const SPARE_PER_CLIENT = 8;
/** Agent addresses remembered (a site's nodes). */
const MAX_AGENT_ADDRESSES = 65_536;

type Slot = "general" | "spare" | "agent";
interface Counted {
  slot: Slot;
  /** Move this connection out of the users' budget (an authenticated agent). */
  promote(): void;
}
const COUNTED = Symbol("gridq.connection");
type CountedSocket = Duplex & { remoteAddress?: string; [COUNTED]?: Counted };

/**
 * Count connections by client address and in total; one over a cap is answered 503 (plain HTTP)
 * or closed (TLS: nothing readable can be written before the handshake) before the HTTP layer
 * sees it. So one address opening sockets without end (slowloris) takes at most its share.
 *
 * Agents have a budget of their own, so users holding connections (long `?follow=true` streams)
 * never keep a node's agent from reconnecting: once authenticated on the agents' route
 * (`promoteToAgent`), a connection leaves the users' counts; and over the caps, from addresses an
 * agent authenticated from before (in this process), up to `spareConnections` more (at most
 * `SPARE_PER_CLIENT` from one address) are accepted on probation: their requests get 503
 * (`refuseSpare`) unless they are an agent's upgrade. A node's first connection after a server
 * restart finds the users' connections gone too (they were the old process's).
 */
export function capConnections(server: Server, l: ConnectionLimits, tls: boolean): () => number {
  const perClient = new Map<string, number>();
  const sparePerClient = new Map<string, number>();
  let total = 0;
  let spare = 0;
  /** Addresses an agent authenticated from (most recent last): only they may use the spare. */
  const agentAddresses = new Set<string>();
  const add = (m: Map<string, number>, k: string, d: number) => {
    const n = (m.get(k) ?? 0) + d;
    if (n > 0) m.set(k, n);
    else m.delete(k);
  };
  server.prependListener("connection", (socket: CountedSocket) => {
    const addr = socket.remoteAddress ?? "";
    const mine = perClient.get(addr) ?? 0;
    let slot: Slot = "general";
    if (total >= l.maxConnections || mine >= l.maxConnectionsPerClient) {
      if (
        !agentAddresses.has(addr) ||
        spare >= l.spareConnections ||
        (sparePerClient.get(addr) ?? 0) >= SPARE_PER_CLIENT
      ) {
        const which =
          total >= l.maxConnections
            ? `${l.maxConnections} connections in total`
            : `${l.maxConnectionsPerClient} connections from ${addr}`;
        refuse(socket, tls, `the server already holds ${which}; retry later`);
        return;
      }
      slot = "spare";
    }
    const release = (s: Slot) => {
      if (s === "general") {
        total--;
        add(perClient, addr, -1);
      } else if (s === "spare") {
        spare--;
        add(sparePerClient, addr, -1);
      }
    };
    if (slot === "general") {
      total++;
      add(perClient, addr, 1);
    } else {
      spare++;
      add(sparePerClient, addr, 1);
    }
    const counted: Counted = {
      slot,
      promote() {
        if (counted.slot === "agent") return;
        release(counted.slot);
        counted.slot = "agent";
        agentAddresses.delete(addr);
        agentAddresses.add(addr);
        if (agentAddresses.size > MAX_AGENT_ADDRESSES)
          agentAddresses.delete(agentAddresses.values().next().value!);
      },
    };
    socket[COUNTED] = counted;
    socket.once("close", () => release(counted.slot));
  });
  return () => total;
}

/** An agent authenticated on this connection: it no longer counts against the users' caps. */
export function promoteToAgent(socket: Duplex): void {
  (socket as CountedSocket)[COUNTED]?.promote();
}

/**
 * For an `onRequest` hook: a connection accepted over the caps serves only an agent's WebSocket
 * upgrade on a route marked `nodeAuth`; anything else is answered 503 and the connection closed.
 */
export function refuseSpare(
  socket: Duplex,
  upgrade: boolean,
  agentRoute: boolean,
  l: ConnectionLimits,
): GridqError | null {
  if ((socket as CountedSocket)[COUNTED]?.slot !== "spare" || (upgrade && agentRoute)) return null;
  return new GridqError(
    "GRIDQ_TOO_MANY_CONNECTIONS",
    `the server already holds ${l.maxConnections} connections (or its share for this address); those over it serve agents only: retry later`,
  );
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
