// The `jobs.*` settings that say whose Unix account a job runs as (docs/agents.md), checked once
// at start: the gridq user → Unix account map, the refused system accounts, the jobs' umask.

export interface JobAccountSettings {
  /** gridq user → Unix account, for users whose account has another name (default: same name). */
  accounts: Readonly<Record<string, string>>;
  /** Accounts below this uid are system accounts: jobs never run as them (root aside). */
  minUid: number;
  /** Accounts jobs never run as, whatever their uid (shared ones such as `nobody`). */
  denyAccounts: readonly string[];
  /** The umask of every job, in octal (`077`: output files 0600, folders 0700). */
  umask: string;
}

export const JOB_ACCOUNT_DEFAULTS = {
  accounts: {},
  minUid: 1000,
  denyAccounts: ["nobody", "nfsnobody"],
  umask: "077",
};

const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const UNIX_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

/** Read the settings; `fail` builds the error for a bad value (a ConfigError). */
export function jobAccountSettings(
  g: (path: string) => unknown,
  fail: (message: string) => Error,
): JobAccountSettings {
  // Settings of older versions that let every user's jobs share one account are refused, not
  // silently dropped: an admin who set them must learn that jobs now run as their submitters.
  if (g("jobs.fallbackUser") !== undefined) {
    throw fail(
      "config jobs.fallbackUser: removed; jobs run as their submitter's Unix account (map users without one in jobs.accounts)",
    );
  }
  const ras = g("jobs.runAsSubmitter");
  if (ras !== undefined && ras !== true && ras !== "true" && ras !== "1") {
    throw fail("config jobs.runAsSubmitter: removed; a root agent always runs jobs as their submitters");
  }
  const accounts = g("jobs.accounts") ?? {};
  if (typeof accounts !== "object" || accounts === null || Array.isArray(accounts)) {
    throw fail("config jobs.accounts: expected a mapping of gridq user names to Unix account names");
  }
  const seen = new Map<string, string>();
  for (const [user, unix] of Object.entries(accounts)) {
    if (!USER.test(user)) throw fail(`config jobs.accounts: '${user}' is not a gridq user name`);
    if (typeof unix !== "string" || !UNIX_NAME.test(unix)) {
      throw fail(`config jobs.accounts.${user}: expected a Unix account name, got ${JSON.stringify(unix)}`);
    }
    // Two users on one account would share a uid: each could read the other's jobs.
    const other = seen.get(unix);
    if (other) throw fail(`config jobs.accounts: '${other}' and '${user}' both map to '${unix}'`);
    seen.set(unix, user);
  }
  const minUid = g("jobs.minUid");
  const minUidN = typeof minUid === "string" && minUid.trim() !== "" ? Number(minUid) : minUid;
  if (typeof minUidN !== "number" || !Number.isInteger(minUidN) || minUidN < 1 || minUidN > 2 ** 31) {
    throw fail(`config jobs.minUid: expected an integer from 1 to 2^31, got ${JSON.stringify(minUid)}`);
  }
  const deny = g("jobs.denyAccounts");
  if (!Array.isArray(deny) || deny.some((d) => typeof d !== "string")) {
    throw fail("config jobs.denyAccounts: expected a list of Unix account names");
  }
  const umask = g("jobs.umask");
  // A YAML 077 is the number 77: only a quoted string says octal without doubt.
  if (typeof umask !== "string" || !/^0?[0-7]{3}$/.test(umask)) {
    throw fail(
      `config jobs.umask: expected octal digits in quotes, such as '077', got ${JSON.stringify(umask)}`,
    );
  }
  return {
    accounts: { ...(accounts as Record<string, string>) },
    minUid: minUidN,
    denyAccounts: deny,
    umask,
  };
}
