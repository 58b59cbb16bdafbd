// The embedded agent's process: `gridq serve` forks it with an IPC channel and its options in
// GRIDQ_AGENT_OPTIONS. It is the same Agent as `gridq agent`, over another transport.

import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";
import { ipcChannel } from "../protocol/ipc-channel.ts";
import { Agent } from "./agent.ts";
import { type AccountRules, accountFor } from "./job-account.ts";

export interface EmbeddedAgentOptions {
  node: string;
  stateDir: string;
  runDir: string;
  killGrace: number;
  rules: AccountRules;
  /** The local first-start admin of a loopback-only server: may run jobs as root (job-account.ts). */
  localRootUser: string | null;
  umask: string;
  baseEnv: Record<string, string>;
}

export function runEmbeddedAgent(raw: string): void {
  const o = JSON.parse(raw) as EmbeddedAgentOptions;
  const policy = {
    ...o.rules,
    node: o.node,
    localRootUser: o.localRootUser,
    agentUid: process.getuid?.() ?? -1,
  };
  const agent = new Agent({ ...o, accountFor: (lease) => accountFor(policy, lease) });
  void agent.connect(ipcChannel<ServerToAgent, AgentToServer>(process));
  // The server is gone (or closing): jobs keep running in their own sessions, and the next
  // embedded agent (same state dir) adopts them; this process exits.
  process.once("disconnect", () => {
    agent.stop();
    process.exit(0);
  });
}

if (import.meta.main) {
  const raw = process.env.GRIDQ_AGENT_OPTIONS;
  if (!raw || !process.send) {
    process.stderr.write("embedded-main: run by `gridq serve` only\n");
    process.exit(2);
  }
  runEmbeddedAgent(raw);
}
