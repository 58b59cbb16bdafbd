// The control plane of one server, wired by constructors: the inbox, node liveness, the agent hub
// (connections; the AgentPort) and the site controller reading the inbox. Composition roots
// (server/main.ts, tests) build it here so that every one wires it the same way.

import { hostname } from "node:os";
import type { JobRecord } from "../domain/job.ts";
import { AgentHub } from "./agent-hub.ts";
import type { ServiceDeps } from "./context.ts";
import { AgentDelivery } from "./controller/agent-delivery.ts";
import type { AgentPort } from "./controller/agent-port.ts";
import { Inbox } from "./controller/inbox.ts";
import { type Leadership, soleLeadership } from "./controller/leadership.ts";
import { LeaseLeadership } from "./controller/lease-leadership.ts";
import { NodeLiveness } from "./controller/node-liveness.ts";
import { RoutedPort } from "./controller/routed-port.ts";
import { SiteController } from "./controller/site-controller.ts";

/**
 * Seconds a site's leader lease lasts without renewal (renewed every tick, at most every second):
 * when a leader dies, another server leads its sites within this bound plus one tick.
 */
export const LEADER_LEASE_SECONDS = 8;

export interface ControlPlane {
  inbox: Inbox;
  leadership: Leadership;
  liveness: NodeLiveness;
  hub: AgentHub;
  /** The controller's port: the hub alone, or (several servers) the hub and the store's messages. */
  port: AgentPort;
  controller: SiteController;
}

/**
 * `server`: this server's name in shared rows (default `host/pid`); `leadership`: who plans each
 * site (default: on a store several servers share, a lease row per site; else this server);
 * `shared`: other servers use the store too (default: the store says so), so messages for agents
 * held elsewhere go through the store and each tick delivers those for agents held here.
 * `jobToken`: the token a job gets for its own calls to the server (`gridq exec`), if any.
 */
export function createControlPlane(
  deps: ServiceDeps,
  o: {
    server?: string;
    leadership?: Leadership;
    shared?: boolean;
    jobToken?: (job: JobRecord) => Promise<string>;
  } = {},
): ControlPlane {
  const shared = o.shared ?? deps.store.capabilities.multiProcess;
  const inbox = new Inbox();
  const server = o.server ?? `${hostname()}/${process.pid}`;
  const liveness = new NodeLiveness(deps, { server });
  const leadership =
    o.leadership ??
    (deps.store.capabilities.multiProcess
      ? new LeaseLeadership(deps, { server, ttl: LEADER_LEASE_SECONDS })
      : soleLeadership);
  const hub = new AgentHub(deps, {
    inbox,
    liveness,
    server,
    ...(o.jobToken ? { jobToken: o.jobToken } : {}),
  });
  // One server alone reaches every agent through its hub, and nothing else changes the store.
  const port = shared ? new RoutedPort(deps, { local: hub, holders: liveness }) : hub;
  const delivery = shared ? new AgentDelivery(deps, { local: hub }) : undefined;
  const controller = new SiteController(deps, {
    inbox,
    port,
    liveness,
    leadership,
    ...(delivery ? { delivery } : {}),
  });
  return { inbox, leadership, liveness, hub, port, controller };
}
