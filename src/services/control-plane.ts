// The control plane of one server, wired by constructors: the inbox, node liveness, the agent hub
// (connections; the AgentPort) and the site controller reading the inbox. Composition roots
// (server/main.ts, tests) build it here so that every one wires it the same way.

import { hostname } from "node:os";
import { AgentHub } from "./agent-hub.ts";
import type { ServiceDeps } from "./context.ts";
import { Inbox } from "./controller/inbox.ts";
import { type Leadership, soleLeadership } from "./controller/leadership.ts";
import { NodeLiveness } from "./controller/node-liveness.ts";
import { SiteController } from "./controller/site-controller.ts";

export interface ControlPlane {
  inbox: Inbox;
  liveness: NodeLiveness;
  hub: AgentHub;
  controller: SiteController;
}

/**
 * `server`: this server's name in shared rows (default `host/pid`); `leadership`: who plans each
 * site (default: this server, the only one on a single-process store).
 */
export function createControlPlane(
  deps: ServiceDeps,
  o: { server?: string; leadership?: Leadership } = {},
): ControlPlane {
  const inbox = new Inbox();
  const liveness = new NodeLiveness(deps, { server: o.server ?? `${hostname()}/${process.pid}` });
  const hub = new AgentHub(deps, { inbox, liveness });
  const controller = new SiteController(deps, {
    inbox,
    port: hub,
    liveness,
    leadership: o.leadership ?? soleLeadership,
  });
  return { inbox, liveness, hub, controller };
}
