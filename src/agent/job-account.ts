// Which Unix account a job runs as. The model (docs/agents.md): an agent that is not root runs
// every job as its own account. A root agent runs a job as its submitter's account when
// `jobs.runAsSubmitter` is on (uid, gid, supplementary groups, HOME; no such account on the node
// → the job fails, saying so), else as `jobs.fallbackUser`; never as root unless `jobs.allowRoot`.

import type { Lease } from "../protocol/agent-messages.ts";
import { findAccount, type UnixAccount } from "./unix-account.ts";

export interface AccountPolicy {
  /** The agent's own uid (0: root). */
  agentUid: number;
  node: string;
  runAsSubmitter: boolean;
  fallbackUser: string;
  allowRoot: boolean;
  passwdPath?: string;
}

export type AccountChoice = UnixAccount | null | { refused: string };

export function accountFor(p: AccountPolicy, lease: Pick<Lease, "user">): AccountChoice {
  if (p.agentUid !== 0) return null;
  const name = p.runAsSubmitter ? lease.user : p.fallbackUser;
  const account = findAccount(name, p.passwdPath);
  if (!account) {
    return p.runAsSubmitter
      ? { refused: `user '${name}' has no Unix account on node ${p.node}` }
      : { refused: `jobs.fallbackUser '${name}' has no Unix account on node ${p.node}` };
  }
  if (account.uid === 0 && !p.allowRoot) {
    if (!p.runAsSubmitter) return { refused: "jobs would run as root, and jobs.allowRoot is off" };
    const fallback = findAccount(p.fallbackUser, p.passwdPath);
    return fallback && fallback.uid !== 0
      ? fallback
      : { refused: `user '${name}' is root on node ${p.node} and jobs.allowRoot is off` };
  }
  return account.uid === 0 ? null : account;
}
