// The embedded agent's process: `gridq serve` forks it with an IPC channel and its options in
// GRIDQ_AGENT_OPTIONS. It is the same Agent as `gridq agent`, over another transport.

import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";
import { ipcChannel } from "../protocol/ipc-channel.ts";
import { Agent } from "./agent.ts";
import { findAccount } from "./unix-account.ts";

export interface EmbeddedAgentOptions {
  node: string;
  stateDir: string;
  nodefileDir: string;
  killGrace: number;
  /** Account to run jobs as (when the agent is root), or null for the agent's own. */
  runAs: string | null;
  baseEnv: Record<string, string>;
}

export function runEmbeddedAgent(raw: string): void {
  const o = JSON.parse(raw) as EmbeddedAgentOptions;
  const runAs = o.runAs === null ? null : findAccount(o.runAs);
  if (o.runAs !== null && !runAs) throw new Error(`account '${o.runAs}' does not exist`);
  const agent = new Agent({ ...o, runAs });
  agent.connect(ipcChannel<ServerToAgent, AgentToServer>(process));
  // The server is gone (or closing): jobs keep running in their own sessions; this exits.
  process.once("disconnect", () => process.exit(0));
}

if (import.meta.main) {
  const raw = process.env.GRIDQ_AGENT_OPTIONS;
  if (!raw || !process.send) {
    process.stderr.write("embedded-main: run by `gridq serve` only\n");
    process.exit(2);
  }
  runEmbeddedAgent(raw);
}
