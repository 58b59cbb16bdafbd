// The login limiter's arithmetic with a clock of our own: backoff, cap, forgetting, what a
// success clears, known addresses, and the per-address bound on running password checks.

import assert from "node:assert/strict";
import { test } from "node:test";
import { GridqError } from "../../src/domain/errors.ts";
import { LoginLimiter } from "../../src/services/login-limiter.ts";

const settings = {
  pairFailures: 3,
  addressFailures: 10,
  accountFailures: 6,
  maxSeconds: 8,
  forgetAfter: 100,
  perAddressChecks: 1,
};

/** Seconds to wait, or 0 when attempts are allowed. */
function lockedFor(l: LoginLimiter, account: string, address: string, now: number): number {
  try {
    l.check(account, address, now);
    return 0;
  } catch (e) {
    assert.ok(e instanceof GridqError);
    assert.equal(e.code, "GRIDQ_LOGIN_LOCKED");
    return e.details!.retry_after as number;
  }
}

test("a pair locks at its limit for 1 s, then 2, 4... up to the cap; forgotten after a quiet time", () => {
  const l = new LoginLimiter(settings);
  let now = 1000;
  l.failed("alice", "a1", now);
  l.failed("alice", "a1", now);
  assert.equal(lockedFor(l, "alice", "a1", now), 0);
  l.failed("alice", "a1", now);
  assert.equal(lockedFor(l, "alice", "a1", now), 1);
  assert.equal(lockedFor(l, "alice", "a2", now), 0, "another address is free");
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    now += 10;
    l.failed("alice", "a1", now);
    waits.push(lockedFor(l, "alice", "a1", now));
  }
  assert.deepEqual(waits, [2, 4, 8, 8, 8]);
  // A quiet time past forgetAfter: counting starts again (3 free failures).
  now += 200;
  assert.equal(lockedFor(l, "alice", "a1", now), 0);
  l.failed("alice", "a1", now);
  assert.equal(lockedFor(l, "alice", "a1", now), 0);
});

test("a success clears its pair only; the account lock spares addresses the account logged in from", () => {
  const l = new LoginLimiter({ ...settings, pairFailures: 100 });
  const now = 1000;
  l.succeeded("alice", "home");
  for (const a of ["x1", "x2", "x3"]) {
    l.failed("alice", a, now);
    l.failed("alice", a, now);
  }
  assert.equal(lockedFor(l, "alice", "x9", now), 1, "6 failures lock the account");
  assert.equal(lockedFor(l, "alice", "home", now), 0, "but not from home");
  // The attacker logging in to an account of their own does not clear their address's count.
  const m = new LoginLimiter({ ...settings, pairFailures: 100, accountFailures: 100 });
  for (let i = 0; i < 9; i++) m.failed(`user${i}`, "evil", now);
  m.succeeded("mallory", "evil");
  m.failed("user9", "evil", now);
  assert.equal(lockedFor(m, "anyone", "evil", now), 1, "10 failures from one address lock it");
});

test("one address has at most perAddressChecks checks running for accounts not known there", async () => {
  const l = new LoginLimiter(settings);
  let release = () => {};
  const running = l.guard("bob", "a1", () => new Promise<void>((r) => (release = r)));
  await assert.rejects(
    l.guard("carol", "a1", async () => {}),
    (e: GridqError) => e.code === "GRIDQ_RATE_LIMITED" && e.details?.retry_after === 1,
  );
  await l.guard("carol", "a2", async () => {});
  // An account that logged in from a1 is bounded by its own pair only.
  l.succeeded("alice", "a1");
  await l.guard("alice", "a1", async () => {});
  release();
  await running;
  await l.guard("carol", "a1", async () => {});
});
