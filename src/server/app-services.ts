// What the HTTP layer is given: the services it calls, already wired by main.ts.

import type { AgentHub } from "../services/agent-hub.ts";
import type { Authenticator } from "../services/auth.ts";
import type { ServiceDeps } from "../services/context.ts";
import type { Scheduler } from "../services/schedule-jobs.ts";

export interface AppServices {
  deps: ServiceDeps;
  auth: Authenticator;
  hub: AgentHub;
  scheduler: Scheduler;
}
