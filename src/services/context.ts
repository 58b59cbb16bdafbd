// What every service is given: the store contract, a clock, the configuration, nodes, a logger.

import type { GridqConfig } from "../config/config.ts";
import type { NodeInfo } from "../domain/node.ts";
import type { Store } from "../store/contract.ts";

export interface Clock {
  /** UNIX seconds with a fraction. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() / 1000 };

/** The structured logger services write to (pino's shape, without depending on pino). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Where the nodes of each site come from (the reference, or the embedded default's one node). */
export interface NodeDirectory {
  sites(): string[];
  nodes(site: string): NodeInfo[];
}

export interface ServiceDeps {
  store: Store;
  clock: Clock;
  config: Readonly<GridqConfig>;
  nodes: NodeDirectory;
  log: Logger;
  /** Whether a user's jobs can run as their Unix account here (a root embedded agent), if known. */
  accounts?: AccountCheck;
}

export interface AccountCheck {
  /** Why this user's jobs would be refused by the node's agent, or null. */
  refusal(actor: Actor): string | null;
}

/** The authenticated caller of a service. */
export interface Actor {
  name: string;
  admin: boolean;
  /** Set when a job's token authenticated the request: the only job it may act on. */
  job?: { site: string; id: number };
  /** Expiry (unix seconds) of the bearer token that authenticated the request, if one did. */
  tokenExpires?: number;
}
