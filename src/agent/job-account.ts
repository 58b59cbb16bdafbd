// Which Unix account a job runs as. The model (docs/agents.md): an agent that is not root runs
// every job as its own account. A root agent runs a job as its submitter's account (or the one
// `jobs.accounts` maps the user to): uid, gid, supplementary groups, HOME. Jobs of two users
// never share an account, and never run as a system account (below `jobs.minUid`, or listed in
// `jobs.denyAccounts`). Root only for a user whose own account is root, and only with
// `jobs.allowRoot` or as the local first-start admin of a server listening on loopback only.

import type { Lease } from "../protocol/agent-messages.ts";
import { findAccount, type UnixAccount } from "./unix-account.ts";

/** The account rules of `jobs.*` (the configuration's jobs settings satisfy it). */
export interface AccountRules {
  allowRoot: boolean;
  accounts: Readonly<Record<string, string>>;
  minUid: number;
  denyAccounts: readonly string[];
}

export interface AccountPolicy extends AccountRules {
  /** The agent's own uid (0: root). */
  agentUid: number;
  node: string;
  /**
   * The gridq user that may run jobs as root without `allowRoot`: the local first-start admin
   * (named after the Unix account running the server) of a server listening on loopback only.
   */
  localRootUser?: string | null;
  passwdPath?: string;
  groupPath?: string;
}

export type AccountChoice = UnixAccount | null | { refused: string };

export function accountFor(p: AccountPolicy, lease: Pick<Lease, "user">): AccountChoice {
  if (p.agentUid !== 0) return null;
  const user = lease.user;
  const mapped = Object.hasOwn(p.accounts, user) ? p.accounts[user] : undefined;
  const name = mapped ?? user;
  const account = findAccount(name, p.passwdPath, p.groupPath);
  if (mapped === undefined && account && account.uid !== 0) {
    // Another user mapped onto this user's account: running both would share a uid (a mapping
    // onto root is refused below, so it takes root from no one).
    const owner = Object.entries(p.accounts).find(([, unix]) => unix === user)?.[0];
    if (owner) return { refused: `Unix account '${user}' belongs to gridq user '${owner}' (jobs.accounts)` };
  }
  if (!account) {
    return mapped
      ? {
          refused: `jobs.accounts maps user '${user}' to '${name}', which has no Unix account on node ${p.node}`,
        }
      : {
          refused: `user '${user}' has no Unix account on node ${p.node} (an admin may map it to one in jobs.accounts)`,
        };
  }
  if (account.uid === 0) {
    if (mapped !== undefined) {
      return { refused: `jobs.accounts maps user '${user}' to '${name}', which is root: refused` };
    }
    if (p.allowRoot || (p.localRootUser && p.localRootUser === user)) return null;
    return {
      refused: `user '${user}' is root on node ${p.node}: jobs run as root only with jobs.allowRoot, or for the local admin of a server that listens on loopback only`,
    };
  }
  if (account.uid < p.minUid || p.denyAccounts.includes(account.name)) {
    return {
      refused: `user '${user}' would run as '${account.name}' (uid ${account.uid}), a system or shared account (below jobs.minUid ${p.minUid}, or in jobs.denyAccounts): refused`,
    };
  }
  return account;
}
