// Password guessing: failed logins counted per (account, address) pair, per address and per
// account; past a count, attempts are refused (429) for a time that doubles with each further
// failure, up to a cap. In memory on purpose: see `LoginLimiter`.

import { isIPv6 } from "node:net";
import type { LockoutSettings } from "../config/auth-config.ts";
import { GridqError } from "../domain/errors.ts";

interface Counter {
  failures: number;
  lockedUntil: number;
  last: number;
}

/** Counters kept at most in each map; the oldest go first (a flood cannot grow memory). */
const MAX_COUNTERS = 100_000;
/** Addresses remembered per account as ones it logged in from. */
const KNOWN_PER_ACCOUNT = 8;
/** Password checks one (account, address) pair may have running at once. */
const PAIR_CHECKS = 1;

/**
 * A cache of recent failures, one per server process. Kept in memory, not in the store: it is
 * consulted and updated on every password attempt, it is lost harmlessly on a restart (the
 * attacker gains one more round of free failures), and with N servers sharing a database an
 * attacker gets at most N times each limit. Writing every failure to the store would turn a
 * password flood into a write flood.
 *
 * Lockout without a permanent denial of service: the tight limit is per (account, address), so an
 * attacker elsewhere does not lock the user out; the per-address and per-account limits do not
 * apply from addresses the account logged in from recently (`#known`), so neither a spray from a
 * cluster's shared login node nor a distributed guess locks out the users who log in from there;
 * every lock ends after at most `maxSeconds`, and bearer tokens are never locked.
 *
 * Addresses are clients (`clientOf`): an IPv6 client is its /64, which one host usually holds
 * whole. Each kind of counter has its own map, and per-account counters exist only for accounts
 * that exist (`failed`'s `exists`): a flood of names or addresses fills its own map, never evicts
 * the counter that protects a real account.
 */
export class LoginLimiter {
  readonly #s: LockoutSettings;
  readonly #pairs = new Map<string, Counter>();
  readonly #addresses = new Map<string, Counter>();
  readonly #accounts = new Map<string, Counter>();
  readonly #known = new Map<string, string[]>();
  /** Password checks running, by client and by (account, client). */
  readonly #inFlight = new Map<string, number>();

  constructor(settings: LockoutSettings) {
    this.#s = settings;
  }

  /** Throws GRIDQ_LOGIN_LOCKED (with `retry_after` seconds) if attempts are locked now. */
  check(account: string, address: string, now: number): void {
    const client = clientOf(address);
    const known = this.#isKnown(account, client);
    const waits = [
      this.#lockedFor(this.#pairs, pairKey(account, client), now),
      known ? 0 : this.#lockedFor(this.#addresses, client, now),
      known ? 0 : this.#lockedFor(this.#accounts, account, now),
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

  /** A wrong password, or an unknown account (`exists` false: no per-account counter for it). */
  failed(account: string, address: string, now: number, exists = true): void {
    const client = clientOf(address);
    count(this.#pairs, pairKey(account, client), this.#s.pairFailures, this.#s, now);
    count(this.#addresses, client, this.#s.addressFailures, this.#s, now);
    if (exists) count(this.#accounts, account, this.#s.accountFailures, this.#s, now);
  }

  /**
   * A right password: the pair starts again, and the address becomes one the account logs in from.
   * The address and account counters are kept: a valid login of the attacker's own account must
   * not clear the failures it made on others.
   */
  succeeded(account: string, address: string): void {
    const client = clientOf(address);
    this.#pairs.delete(pairKey(account, client));
    const known = (this.#known.get(account) ?? []).filter((a) => a !== client);
    known.unshift(client);
    this.#known.delete(account);
    this.#known.set(account, known.slice(0, KNOWN_PER_ACCOUNT));
    if (this.#known.size > MAX_COUNTERS) this.#known.delete(this.#known.keys().next().value!);
  }

  /**
   * Run a password check for `account` from an address. One (account, address) pair has at most
   * `PAIR_CHECKS` running; an address has at most `perAddressChecks` running for accounts that
   * have not logged in from it, so one client cannot fill the KDF queue that every other client's
   * first login waits in, and one user flooding from a shared login node does not make the other
   * users' logins from there answer 429 (theirs are known there, bounded by the pair cap only).
   */
  async guard<T>(account: string, address: string, task: () => Promise<T>): Promise<T> {
    const client = clientOf(address);
    const keys = [`p\0${pairKey(account, client)}`];
    const limits = [PAIR_CHECKS];
    if (!this.#isKnown(account, client)) {
      keys.push(`a\0${client}`);
      limits.push(this.#s.perAddressChecks);
    }
    keys.forEach((k, i) => {
      const n = this.#inFlight.get(k) ?? 0;
      if (n >= limits[i]!) {
        throw new GridqError(
          "GRIDQ_RATE_LIMITED",
          `${n} password checks from this address are in progress: wait for them`,
          { retry_after: 1 },
        );
      }
    });
    for (const k of keys) this.#inFlight.set(k, (this.#inFlight.get(k) ?? 0) + 1);
    try {
      return await task();
    } finally {
      for (const k of keys) {
        const left = (this.#inFlight.get(k) ?? 1) - 1;
        if (left > 0) this.#inFlight.set(k, left);
        else this.#inFlight.delete(k);
      }
    }
  }

  #isKnown(account: string, client: string): boolean {
    return this.#known.get(account)?.includes(client) ?? false;
  }

  #lockedFor(map: Map<string, Counter>, key: string, now: number): number {
    const c = map.get(key);
    if (!c) return 0;
    if (now - c.last > this.#s.forgetAfter && c.lockedUntil <= now) {
      map.delete(key);
      return 0;
    }
    return Math.max(0, c.lockedUntil - now);
  }
}

function count(map: Map<string, Counter>, key: string, free: number, s: LockoutSettings, now: number): void {
  let c = map.get(key);
  if (c && now - c.last > s.forgetAfter && c.lockedUntil <= now) c = undefined;
  c ??= { failures: 0, lockedUntil: 0, last: now };
  c.failures++;
  c.last = now;
  // Failures past the free ones lock for 1 s, 2 s, 4 s... up to the cap.
  if (c.failures >= free) {
    const excess = Math.min(c.failures - free, 30);
    c.lockedUntil = now + Math.min(s.maxSeconds, 2 ** excess);
  }
  // Re-inserted at the end, so the first key is the one longest untouched.
  map.delete(key);
  map.set(key, c);
  if (map.size > MAX_COUNTERS) map.delete(map.keys().next().value!);
}

const pairKey = (account: string, client: string) => `${account}\0${client}`;

/**
 * The client an address stands for: an IPv4 address itself (also when IPv4-mapped), an IPv6
 * address its /64 network, written `a:b:c:d::/64` (an attacker given one /64 holds 2^64 addresses).
 */
export function clientOf(address: string): string {
  const bare = address.split("%")[0]!.toLowerCase();
  if (!isIPv6(bare)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1]!;
  const [head = "", tail] = bare.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":")).flatMap(hextets);
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...Array(8 - front.length - back.length).fill(0), ...back];
  return `${all
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(":")}::/64`;
}

/** One written group as 16-bit numbers: a hextet, or the two of a trailing dotted IPv4. */
function hextets(g: string): number[] {
  if (!g.includes(".")) return [Number.parseInt(g, 16)];
  const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
  return [(a << 8) | b, (c << 8) | d];
}
