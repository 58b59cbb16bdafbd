// The facts a site's controller is told: what happened to jobs and agents, never what to do.
// Services, routes and the agent hub post them; only the controller decides what follows.

import type { JobRecord } from "../../domain/job.ts";
import type { JobReport, KnownLease } from "../../protocol/agent-messages.ts";

export type Fact =
  /** Jobs were stored (one submission may store a whole array). */
  | { type: "submitted"; jobs: readonly JobRecord[] }
  /** A job was canceled; `kill` names why its processes must end (null: it had none). */
  | { type: "canceled"; job: JobRecord; kill: string | null }
  | { type: "held"; job: JobRecord }
  | { type: "resumed"; job: JobRecord }
  /** A job's walltime was changed (a running job's agent must hear of it). */
  | { type: "walltimeChanged"; job: JobRecord }
  /** An agent reported on a run; the post resolves once the report is durable (or known stale). */
  | { type: "report"; site: string; node: string; report: JobReport }
  /** An agent said hello: these are the leases it still knows. */
  | { type: "agentConnected"; site: string; node: string; known: readonly KnownLease[] }
  | { type: "agentLost"; site: string; node: string }
  /** Time passed (liveness, periodic planning); `nodesChanged`: the platform description moved. */
  | { type: "tick"; nodesChanged?: boolean };

export type FactType = Fact["type"];

/** Where facts are posted. The promise resolves once the controller has taken the fact in. */
export interface FactSink {
  post(fact: Fact): Promise<void>;
}
