// Whose account a job runs as (the model of docs/agents.md), on passwd/group files written here.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type AccountChoice, type AccountPolicy, accountFor } from "../../src/agent/job-account.ts";
import { findAccount } from "../../src/agent/unix-account.ts";
import { checkAgentMessage } from "../../src/protocol/agent-messages.ts";
import { listensOnLoopbackOnly } from "../../src/server/main.ts";
import { tempDir } from "../helpers/gridq-process.ts";

const dir = tempDir("gridq-accounts-");
const passwd = join(dir, "passwd");
const group = join(dir, "group");
writeFileSync(
  passwd,
  [
    "root:x:0:0:root:/root:/bin/sh",
    "toor:x:0:0:root alias:/root:/bin/sh",
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
    "alice:x:1001:1001::/home/alice:/bin/sh",
    "bob:x:1002:1002::/home/bob:/bin/sh",
    "lab_alice:x:1003:1003::/home/lab_alice:/bin/sh",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    "",
  ].join("\n"),
);
writeFileSync(group, ["alice:x:1001:", "lab:x:2000:alice,bob", "gpu:x:2001:alice", ""].join("\n"));

const lease = (user: string) => ({ user });
const policy = (o: Partial<AccountPolicy>): AccountPolicy => ({
  agentUid: 0,
  node: "n1",
  allowRoot: false,
  accounts: {},
  minUid: 1000,
  denyAccounts: ["nobody"],
  passwdPath: passwd,
  groupPath: group,
  ...o,
});
const nameOf = (c: AccountChoice) => (c && "name" in c ? c.name : c);

test("accounts carry their supplementary groups", () => {
  assert.deepEqual(findAccount("alice", passwd, group), {
    name: "alice",
    uid: 1001,
    gid: 1001,
    home: "/home/alice",
    groups: [2000, 2001],
  });
  assert.deepEqual(findAccount("nobody", passwd, group)?.groups, []);
  assert.equal(findAccount("carol", passwd, group), null);
});

test("a root agent runs each job as its submitter's own account; a missing one is refused, named", () => {
  assert.equal(nameOf(accountFor(policy({}), lease("alice"))), "alice");
  assert.equal(nameOf(accountFor(policy({}), lease("bob"))), "bob");
  assert.match(
    (accountFor(policy({}), lease("carol")) as { refused: string }).refused,
    /^user 'carol' has no Unix account on node n1 \(an admin may map it to one in jobs\.accounts\)$/,
  );
});

test("jobs.accounts maps a user to another account, never two users to one", () => {
  const p = policy({ accounts: { alicia: "lab_alice", carol: "ghost" } });
  assert.equal(nameOf(accountFor(p, lease("alicia"))), "lab_alice");
  assert.match(
    (accountFor(p, lease("carol")) as { refused: string }).refused,
    /maps user 'carol' to 'ghost'/,
  );
  // The gridq user named after the mapped account would share alicia's uid.
  assert.match(
    (accountFor(p, lease("lab_alice")) as { refused: string }).refused,
    /Unix account 'lab_alice' belongs to gridq user 'alicia'/,
  );
});

test("no ordinary user reaches root or a system or shared account", () => {
  // Mapped to root, or to a uid-0 alias: refused, even with jobs.allowRoot.
  for (const allowRoot of [false, true]) {
    const p = policy({ allowRoot, accounts: { root2: "root", daemon2: "toor" } });
    assert.match((accountFor(p, lease("root2")) as { refused: string }).refused, /which is root: refused/);
    assert.match((accountFor(p, lease("daemon2")) as { refused: string }).refused, /which is root: refused/);
  }
  assert.match(
    (accountFor(policy({}), lease("daemon")) as { refused: string }).refused,
    /'daemon' \(uid 1\), a system or shared account/,
  );
  assert.match(
    (accountFor(policy({}), lease("nobody")) as { refused: string }).refused,
    /'nobody' \(uid 65534\)/,
  );
  assert.match(
    (accountFor(policy({ accounts: { eve: "nobody" } }), lease("eve")) as { refused: string }).refused,
    /a system or shared account/,
  );
  assert.equal(nameOf(accountFor(policy({ minUid: 1002 }), lease("bob"))), "bob");
  assert.ok("refused" in (accountFor(policy({ minUid: 1002 }), lease("alice")) as object));
});

test("root runs jobs as root only with allowRoot, or as the local admin of a loopback server", () => {
  assert.match(
    (accountFor(policy({}), lease("root")) as { refused: string }).refused,
    /user 'root' is root on node n1: jobs run as root only with jobs\.allowRoot/,
  );
  assert.equal(accountFor(policy({ allowRoot: true }), lease("root")), null);
  assert.equal(accountFor(policy({ localRootUser: "root" }), lease("root")), null);
  // The local admin rule names one user: another uid-0 name is still refused.
  assert.ok("refused" in (accountFor(policy({ localRootUser: "root" }), lease("toor")) as object));
});

test("a non-root agent runs every job as itself", () => {
  assert.equal(accountFor(policy({ agentUid: 1001 }), lease("carol")), null);
});

test("only loopback addresses count as listening on loopback only", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
    assert.equal(listensOnLoopbackOnly(h), true, h);
  for (const h of ["0.0.0.0", "::", "192.168.1.4", "gridq.example", "127.0.0.1.example"])
    assert.equal(listensOnLoopbackOnly(h), false, h);
});

test("messages from agents are checked before use", () => {
  assert.ok(checkAgentMessage({ type: "heartbeat", at: 1 }));
  assert.ok(
    checkAgentMessage({
      type: "finished",
      leaseId: "l-1",
      jobId: 3,
      exitCode: null,
      signal: null,
      walltimeExceeded: false,
      at: 2,
    }),
  );
  for (const bad of [
    null,
    "hello",
    { type: "nonsense" },
    { type: "heartbeat" },
    { type: "started", leaseId: "x".repeat(65), jobId: 1, pid: 2, at: 3 },
    { type: "finished", leaseId: "l", jobId: 1, exitCode: "0", signal: null, walltimeExceeded: false, at: 1 },
    { type: "hello", version: 2, node: "n1", running: [{ leaseId: 5 }] },
    { type: "metrics", at: 1, values: { load: "high" } },
    { type: "data", stream: 1, chunk: "AA==", fd: 3 },
  ]) {
    assert.equal(checkAgentMessage(bad), null, JSON.stringify(bad));
  }
});
