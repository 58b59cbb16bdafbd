// Test helper: throwaway Unix accounts (useradd, root only) for tests of whose account a job
// runs as; every account made here is removed (userdel) after the file's tests.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after } from "node:test";
import { findAccount, type UnixAccount } from "../../src/agent/unix-account.ts";

const made: string[] = [];

after(() => {
  for (const name of made.splice(0)) {
    // --force: a job process still exiting does not keep the account.
    useradd("userdel", ["--force", name]);
  }
});

/** useradd/userdel retried while another process holds the passwd lock. */
function useradd(cmd: "useradd" | "userdel", args: string[]): void {
  for (let i = 0; ; i++) {
    try {
      execFileSync(cmd, args, { stdio: "pipe" });
      return;
    } catch (e) {
      const err = String((e as { stderr?: Buffer }).stderr ?? e);
      if (i >= 20 || !/lock|try again/i.test(err)) throw new Error(`${cmd} ${args.join(" ")}: ${err}`);
      execFileSync("sleep", ["0.2"]);
    }
  }
}

/** Why these tests cannot run here (they need root and useradd), or false. */
export function cannotMakeAccounts(): string | false {
  if (process.getuid?.() !== 0) return "needs root (to create Unix accounts and run jobs as them)";
  try {
    execFileSync("useradd", ["--help"], { stdio: "ignore" });
  } catch {
    return "needs useradd";
  }
  return false;
}

/**
 * Create one fresh unprivileged account per name (`gqXXXXXX<name>`, its own group, no home,
 * members of `groups` if given): returns them by the given names, and the `jobs.accounts`
 * YAML mapping those names to them.
 */
export function makeAccounts(
  names: string[],
  o: { groups?: string[] } = {},
): { accounts: Record<string, UnixAccount>; yaml: string } {
  const tag = randomBytes(3).toString("hex");
  const accounts: Record<string, UnixAccount> = {};
  for (const n of names) {
    const unix = `gq${tag}${n}`.toLowerCase().slice(0, 31);
    useradd("useradd", [
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/bin/sh",
      "--user-group",
      ...(o.groups?.length ? ["--groups", o.groups.join(",")] : []),
      unix,
    ]);
    made.push(unix);
    const a = findAccount(unix);
    if (!a) throw new Error(`useradd made no account ${unix}`);
    accounts[n] = a;
  }
  const yaml = `{${names.map((n) => `${n}: ${accounts[n]!.name}`).join(", ")}}`;
  return { accounts, yaml };
}

/**
 * For tests about something else that submit jobs as several users: as root (CI), each user
 * gets a throwaway account and this returns the `jobs.accounts` mapping; otherwise (the
 * server runs every job as its own account) an empty one.
 */
export function accountsFor(names: string[]): Record<string, string> {
  if (cannotMakeAccounts()) return {};
  const { accounts } = makeAccounts(names);
  return Object.fromEntries(names.map((n) => [n, accounts[n]!.name]));
}
