// Password guessing: failed logins counted per (account, address) pair, per address and per
// account; past a count, attempts are refused (429) for a time that doubles with each further
// failure, up to a cap. In memory on purpose: see `LoginLimiter`.

import type { LockoutSettings } from "../config/config.ts";
import { GridqError } from "../domain/errors.ts";

interface Counter {
  failures: number;
  lockedUntil: number;
  last: number;
}

/** Counters kept at most; the oldest go first (a flood of names or addresses cannot grow memory). */
const MAX_COUNTERS = 100_000;
/** Addresses remembered per account as ones it logged in from. */
const KNOWN_PER_ACCOUNT = 8;

/**
 * A cache of recent failures, one per server process. Kept in memory, not in the store: it is
 * consulted and updated on every password attempt, it is lost harmlessly on a restart (the
 * attacker gains one more round of free failures), and with N servers sharing a database an
 * attacker gets at most N times each limit. Writing every failure to the store would turn a
 * password flood into a write flood.
 *
 * Lockout without a permanent denial of service: the tight limit is per (account, address), so an
 * attacker elsewhere does not lock the user out; the per-account limit is loose and does not apply
 * from addresses the account logged in from recently (`#known`); every lock ends after at most
 * `maxSeconds`, and bearer tokens are never locked.
 */
export class LoginLimiter {
  readonly #s: LockoutSettings;
  readonly #counters = new Map<string, Counter>();
  readonly #known = new Map<string, string[]>();
  readonly #inFlight = new Map<string, number>();

  constructor(settings: LockoutSettings) {
    this.#s = settings;
  }

  /** Throws GRIDQ_LOGIN_LOCKED (with `retry_after` seconds) if attempts are locked now. */
  check(account: string, address: string, now: number): void {
    const waits = [
      this.#lockedFor(pairKey(account, address), now),
      this.#lockedFor(addressKey(address), now),
      this.#known.get(account)?.includes(address) ? 0 : this.#lockedFor(accountKey(account), now),
    ];
    const wait = Math.max(...waits);
    if (wait > 0) {
      const retryAfter = Math.ceil(wait);
      throw new GridqError(
        "GRIDQ_LOGIN_LOCKED",
        `too many failed logins for this account or from this address: retry in ${retryAfter} s`,
        { retry_after: retryAfter },
      );
    }
  }

  failed(account: string, address: string, now: number): void {
    this.#count(pairKey(account, address), this.#s.pairFailures, now);
    this.#count(addressKey(address), this.#s.addressFailures, now);
    this.#count(accountKey(account), this.#s.accountFailures, now);
  }

  /**
   * A right password: the pair starts again, and the address becomes one the account logs in from.
   * The address and account counters are kept: a valid login of the attacker's own account must
   * not clear the failures it made on others.
   */
  succeeded(account: string, address: string): void {
    this.#counters.delete(pairKey(account, address));
    const known = (this.#known.get(account) ?? []).filter((a) => a !== address);
    known.unshift(address);
    this.#known.delete(account);
    this.#known.set(account, known.slice(0, KNOWN_PER_ACCOUNT));
    if (this.#known.size > MAX_COUNTERS) this.#known.delete(this.#known.keys().next().value!);
  }

  /**
   * Run a password check for an address, at most `perAddressChecks` at once from it: one client
   * cannot fill the KDF queue that every other client's first login waits in.
   */
  async guard<T>(address: string, task: () => Promise<T>): Promise<T> {
    const n = this.#inFlight.get(address) ?? 0;
    if (n >= this.#s.perAddressChecks) {
      throw new GridqError(
        "GRIDQ_RATE_LIMITED",
        `${n} password checks from this address are in progress: wait for them`,
        { retry_after: 1 },
      );
    }
    this.#inFlight.set(address, n + 1);
    try {
      return await task();
    } finally {
      const left = (this.#inFlight.get(address) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(address, left);
      else this.#inFlight.delete(address);
    }
  }

  #lockedFor(key: string, now: number): number {
    const c = this.#counters.get(key);
    if (!c) return 0;
    if (now - c.last > this.#s.forgetAfter && c.lockedUntil <= now) {
      this.#counters.delete(key);
      return 0;
    }
    return Math.max(0, c.lockedUntil - now);
  }

  #count(key: string, free: number, now: number): void {
    let c = this.#counters.get(key);
    if (c && now - c.last > this.#s.forgetAfter && c.lockedUntil <= now) c = undefined;
    c ??= { failures: 0, lockedUntil: 0, last: now };
    c.failures++;
    c.last = now;
    // Failures past the free ones lock for 1 s, 2 s, 4 s... up to the cap.
    if (c.failures >= free) {
      const excess = Math.min(c.failures - free, 30);
      c.lockedUntil = now + Math.min(this.#s.maxSeconds, 2 ** excess);
    }
    // Re-inserted at the end, so the first key is the one longest untouched.
    this.#counters.delete(key);
    this.#counters.set(key, c);
    if (this.#counters.size > MAX_COUNTERS) this.#counters.delete(this.#counters.keys().next().value!);
  }
}

const pairKey = (account: string, address: string) => `p\0${account}\0${address}`;
const addressKey = (address: string) => `a\0${address}`;
const accountKey = (account: string) => `u\0${account}`;
