// The `auth.*` settings: token lifetimes, caches of credentials and users, and the password
// guessing lockout (src/services/login-limiter.ts), with their defaults and checks.

import { num } from "./config-values.ts";

/** Password guessing limits (src/services/login-limiter.ts applies them). */
export interface LockoutSettings {
  /** Failed logins for one account from one address that lock that pair (the tight limit). */
  pairFailures: number;
  /** Failed logins from one address, all accounts together (spraying many accounts). */
  addressFailures: number;
  /** Failed logins for one account, all addresses together (the loose, distributed limit). */
  accountFailures: number;
  /** Longest lockout in seconds: it lasts 1 s, then doubles with each further failure, up to this. */
  maxSeconds: number;
  /** Seconds without a failure after which a counter starts again from zero. */
  forgetAfter: number;
  /** Password checks one address may have running at once for accounts not known there (429 past it). */
  perAddressChecks: number;
}

export interface AuthSettings {
  /** Seconds a bearer token lives. */
  tokenTtl: number;
  /** Longest lifetime a client may ask for a token (the CLI asks for long-lived ones). */
  maxTokenTtl: number;
  /** Seconds a verified Basic credential is remembered (avoids one KDF run per request). */
  basicCacheTtl: number;
  /**
   * Seconds a server trusts its copy of a user's row (exists, enabled, role, token stamp):
   * the longest a change made through another server sharing the store takes to be seen here.
   */
  userCacheTtl: number;
  /** Password guessing: lockouts per (account, address), address and account (login-limiter.ts). */
  lockout: LockoutSettings;
}

export const AUTH_DEFAULTS = {
  tokenTtl: 4 * 3600,
  maxTokenTtl: 30 * 86400,
  basicCacheTtl: 60,
  userCacheTtl: 5,
  lockout: {
    pairFailures: 5,
    addressFailures: 30,
    accountFailures: 100,
    maxSeconds: 300,
    forgetAfter: 3600,
    perAddressChecks: 1,
  },
};

/** Read the settings (`g` reads one merged value by its path). */
export function authSettings(g: (path: string) => unknown): AuthSettings {
  return {
    tokenTtl: num("auth.tokenTtl", g("auth.tokenTtl"), 1, 365 * 86400),
    maxTokenTtl: num("auth.maxTokenTtl", g("auth.maxTokenTtl"), 1, 365 * 86400),
    basicCacheTtl: num("auth.basicCacheTtl", g("auth.basicCacheTtl"), 0, 3600),
    userCacheTtl: num("auth.userCacheTtl", g("auth.userCacheTtl"), 0, 60),
    lockout: {
      pairFailures: num("auth.lockout.pairFailures", g("auth.lockout.pairFailures"), 1, 100_000, true),
      addressFailures: num(
        "auth.lockout.addressFailures",
        g("auth.lockout.addressFailures"),
        1,
        100_000,
        true,
      ),
      accountFailures: num(
        "auth.lockout.accountFailures",
        g("auth.lockout.accountFailures"),
        1,
        100_000,
        true,
      ),
      maxSeconds: num("auth.lockout.maxSeconds", g("auth.lockout.maxSeconds"), 1, 86400),
      forgetAfter: num("auth.lockout.forgetAfter", g("auth.lockout.forgetAfter"), 1, 30 * 86400),
      perAddressChecks: num("auth.lockout.perAddressChecks", g("auth.lockout.perAddressChecks"), 1, 64, true),
    },
  };
}
