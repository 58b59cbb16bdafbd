// What the HTTP layer is given: the services it calls, already wired by main.ts.

import type { AgentHub } from "../services/agent-hub.ts";
import type { Authenticator } from "../services/auth.ts";
import type { ServiceDeps } from "../services/context.ts";
import type { AgentPort } from "../services/controller/agent-port.ts";
import type { FactSink } from "../services/controller/facts.ts";
import type { SiteController } from "../services/controller/site-controller.ts";

export interface AppServices {
  deps: ServiceDeps;
  auth: Authenticator;
  /** Agents' connections (the WebSocket route attaches them) and their metrics. */
  hub: AgentHub;
  /** Reads and execs on nodes go through the controller's port. */
  port: AgentPort;
  /** Where job verbs post their facts. */
  inbox: FactSink;
  /** The site controller's answers: walltime grants, planned nodes, node status, pass metrics. */
  controller: SiteController;
}
