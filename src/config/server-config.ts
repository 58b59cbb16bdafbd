// The `server.*` connection settings: timeouts and caps on connections
// (src/server/connection-limits.ts applies them), with their defaults and checks.

import { ConfigError, num } from "./config-values.ts";

export interface ConnectionSettings {
  /** Seconds an idle keep-alive connection stays open. */
  keepAliveTimeout: number;
  /** Seconds a client has to send a request's headers, and its whole request. */
  headersTimeout: number;
  requestTimeout: number;
  /** Users' open connections at once, in total and from one client address (agents apart). */
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** Connections accepted over those caps for agents reconnecting only (connection-limits.ts). */
  spareConnections: number;
}

export const CONNECTION_DEFAULTS = {
  keepAliveTimeout: 72,
  headersTimeout: 20,
  requestTimeout: 120,
  maxConnections: 2048,
  maxConnectionsPerClient: 256,
  spareConnections: 256,
};

/** Read the settings (`g` reads one merged value by its path). */
export function connectionSettings(g: (p: string) => unknown): ConnectionSettings {
  const t = (k: string) => num(`server.${k}`, g(`server.${k}`), 0.1, 86400);
  const n = (k: string) => num(`server.${k}`, g(`server.${k}`), 1, 1_000_000, true);
  const limits = {
    keepAliveTimeout: t("keepAliveTimeout"),
    headersTimeout: t("headersTimeout"),
    requestTimeout: t("requestTimeout"),
    maxConnections: n("maxConnections"),
    maxConnectionsPerClient: n("maxConnectionsPerClient"),
    spareConnections: num("server.spareConnections", g("server.spareConnections"), 0, 1_000_000, true),
  };
  // Node refuses a headers timeout longer than the request's.
  if (limits.headersTimeout > limits.requestTimeout)
    throw new ConfigError("config server.headersTimeout must not be longer than server.requestTimeout");
  return limits;
}
