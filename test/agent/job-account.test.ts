// Whose account a job runs as (the model of docs/agents.md), on passwd/group files written here.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { accountFor } from "../../src/agent/job-account.ts";
import { findAccount } from "../../src/agent/unix-account.ts";
import { checkAgentMessage } from "../../src/protocol/agent-messages.ts";
import { tempDir } from "../helpers/gridq-process.ts";

const dir = tempDir("gridq-accounts-");
const passwd = join(dir, "passwd");
const group = join(dir, "group");
writeFileSync(
  passwd,
  [
    "root:x:0:0:root:/root:/bin/sh",
    "alice:x:1001:1001::/home/alice:/bin/sh",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    "",
  ].join("\n"),
);
writeFileSync(group, ["alice:x:1001:", "lab:x:2000:alice,bob", "gpu:x:2001:alice", ""].join("\n"));

const lease = (user: string) => ({ user });
const policy = (o: Partial<Parameters<typeof accountFor>[0]>) => ({
  agentUid: 0,
  node: "n1",
  runAsSubmitter: true,
  fallbackUser: "nobody",
  allowRoot: false,
  passwdPath: passwd,
  ...o,
});

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

test("a root agent runs jobs as their submitters; a missing account is refused, named", () => {
  assert.equal((accountFor(policy({}), lease("alice")) as { name: string }).name, "alice");
  assert.deepEqual(accountFor(policy({}), lease("carol")), {
    refused: "user 'carol' has no Unix account on node n1",
  });
  // Root submitters run as the fallback account unless root jobs are allowed.
  assert.equal((accountFor(policy({}), lease("root")) as { name: string }).name, "nobody");
  assert.equal(accountFor(policy({ allowRoot: true }), lease("root")), null);
});

test("without runAsSubmitter a root agent runs every job as the fallback; a non-root agent as itself", () => {
  const p = policy({ runAsSubmitter: false });
  assert.equal((accountFor(p, lease("alice")) as { name: string }).name, "nobody");
  assert.deepEqual(accountFor(policy({ runAsSubmitter: false, fallbackUser: "ghost" }), lease("alice")), {
    refused: "jobs.fallbackUser 'ghost' has no Unix account on node n1",
  });
  assert.equal(accountFor(policy({ agentUid: 1001 }), lease("carol")), null);
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
