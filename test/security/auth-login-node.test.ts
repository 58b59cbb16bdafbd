// A cluster's shared login node: one user spraying wrong passwords from it does not lock out
// (nor 429) the users who usually log in from there; IPv6 clients count by /64; a flood of
// counters does not evict the counter protecting a real account.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { GridqError } from "../../src/domain/errors.ts";
import { clientOf, LoginLimiter } from "../../src/services/login-limiter.ts";
import { type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { basic, call, makeUsers } from "./helpers/http-client.ts";

const servers: GridqServer[] = [];
after(() => Promise.all(servers.map((s) => s.stop())));

const NODE = "127.0.0.7";

describe("over HTTP, from a shared login node", () => {
  let s: GridqServer;
  const whoami = (user: string, password: string) =>
    call(s.url, "GET", "/3.0/auth/whoami", { auth: basic(user, password), from: NODE });

  test("a spray from the node locks new accounts there, not those that log in from it", async () => {
    s = await startGridq({
      config:
        "auth:\n  basicCacheTtl: 0\n  lockout:\n    pairFailures: 1000\n    addressFailures: 5\n" +
        "    accountFailures: 1000\n    maxSeconds: 60\n    perAddressChecks: 1\n",
    });
    servers.push(s);
    await makeUsers(s, ["alice", "bob", "mallory"]);
    assert.equal((await whoami("alice", "alice-password")).status, 200, "alice logs in from the node");
    // Mallory sprays other names from the node until the address is locked.
    let status = 0;
    for (let i = 0; i < 8 && status !== 429; i++) status = (await whoami(`user${i}`, "guess")).status;
    assert.equal(status, 429, "the node's address is locked for accounts not known there");
    assert.equal((await whoami("bob", "bob-password")).status, 429, "bob never logged in from the node");
    const r = await whoami("alice", "alice-password");
    assert.equal(r.status, 200, `alice still logs in from her usual address: ${r.text}`);
  });

  test("one user's running checks do not make a known user's login from the node answer 429", async () => {
    // perAddressChecks is 1: before, any check in flight from the node refused every other one.
    const flood = Array.from({ length: 6 }, () => whoami("mallory", "wrong"));
    const [alice] = await Promise.all([whoami("alice", "alice-password"), ...flood]);
    assert.equal(alice!.status, 200, `alice: ${alice!.text}`);
  });
});

function lockedFor(l: LoginLimiter, account: string, address: string, now: number): number {
  try {
    l.check(account, address, now);
    return 0;
  } catch (e) {
    assert.ok(e instanceof GridqError && e.code === "GRIDQ_LOGIN_LOCKED");
    return e.details!.retry_after as number;
  }
}

const settings = {
  pairFailures: 3,
  addressFailures: 5,
  accountFailures: 4,
  maxSeconds: 60,
  forgetAfter: 3600,
  perAddressChecks: 4,
};

test("an IPv6 client is its /64: rotating the low bits does not escape the address lock", () => {
  assert.equal(clientOf("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(clientOf("2001:DB8:1:2:ffff:ffff:ffff:fffe"), "2001:db8:1:2::/64");
  assert.equal(clientOf("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(clientOf("::ffff:10.1.2.3"), "10.1.2.3");
  assert.equal(clientOf("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(clientOf("10.1.2.3"), "10.1.2.3");
  const l = new LoginLimiter(settings);
  for (let i = 0; i < 5; i++) l.failed(`user${i}`, `2001:db8:1:2::${i + 1}`, 1000, false);
  assert.ok(lockedFor(l, "anyone", "2001:db8:1:2:9999::7", 1000) > 0, "the whole /64 is locked");
  assert.equal(lockedFor(l, "anyone", "2001:db8:1:3::1", 1000), 0, "the next /64 is not");
});

test("a flood of names and addresses does not evict a real account's lock", () => {
  const l = new LoginLimiter(settings);
  for (let i = 0; i < 8; i++) l.failed("alice", `10.0.0.${i}`, 1000);
  assert.ok(lockedFor(l, "alice", "10.9.9.9", 1000) > 0, "eight failures lock alice's account for 16 s");
  // 150 000 failures for names that do not exist, from as many addresses: more than any map holds.
  for (let i = 0; i < 150_000; i++)
    l.failed(`ghost${i}`, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1001, false);
  assert.ok(lockedFor(l, "alice", "10.9.9.9", 1001) > 0, "alice's account lock survives the flood");
});
