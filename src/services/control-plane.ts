// The control plane of one server, wired by constructors: the inbox, node liveness, the agent hub
// (connections; the AgentPort) and the site controller reading the inbox. Composition roots
// (server/main.ts, tests) build it here so that every one wires it the same way.

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

export function createControlPlane(deps: ServiceDeps, o: { leadership?: Leadership } = {}): ControlPlane {
  const inbox = new Inbox();
  const liveness = new NodeLiveness(deps);
  const hub = new AgentHub(deps, { inbox, liveness });
  const controller = new SiteController(deps, {
    inbox,
    port: hub,
    liveness,
    leadership: o.leadership ?? soleLeadership,
  });
  return { inbox, liveness, hub, controller };
}
