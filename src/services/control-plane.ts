// The control plane of one server, wired by constructors: the inbox, node liveness, the agent hub
// (connections; the AgentPort) and the site controller reading the inbox. Composition roots
// (server/main.ts, tests) build it here so that every one wires it the same way.

import { hostname } from "node:os";
import { AgentHub } from "./agent-hub.ts";
import type { ServiceDeps } from "./context.ts";
import { Inbox } from "./controller/inbox.ts";
import { type Leadership, soleLeadership } from "./controller/leadership.ts";
import { LeaseLeadership } from "./controller/lease-leadership.ts";
import { NodeLiveness } from "./controller/node-liveness.ts";
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
  controller: SiteController;
}

/**
 * `server`: this server's name in shared rows (default `host/pid`); `leadership`: who plans each
 * site (default: on a store several servers share, a lease row per site; else this server).
 */
export function createControlPlane(
  deps: ServiceDeps,
  o: { server?: string; leadership?: Leadership } = {},
): ControlPlane {
  const inbox = new Inbox();
  const server = o.server ?? `${hostname()}/${process.pid}`;
  const liveness = new NodeLiveness(deps, { server });
  const leadership =
    o.leadership ??
    (deps.store.capabilities.multiProcess
      ? new LeaseLeadership(deps, { server, ttl: LEADER_LEASE_SECONDS })
      : soleLeadership);
  const hub = new AgentHub(deps, { inbox, liveness, server });
  const controller = new SiteController(deps, {
    inbox,
    port: hub,
    liveness,
    leadership,
  });
  return { inbox, leadership, liveness, hub, controller };
}
