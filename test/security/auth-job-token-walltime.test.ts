// A job's token lives as long as its job may run: an extended walltime extends it (`gridq exec`
// inside a job keeps working past the walltime granted at start), a reduced one shortens it, and
// it dies within the slack after the job's end. On the real Authenticator over a real SQLite store.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import { GridqError } from "../../src/domain/errors.ts";
import { staticNodeDirectory } from "../../src/server/local-node.ts";
import { Authenticator, createUser, JOB_TOKEN_SLACK } from "../../src/services/auth.ts";
import type { ServiceDeps } from "../../src/services/context.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/gridq-process.ts";
import { newJob } from "../store/conformance.ts";

const home = tempDir("gridq-job-token-");
const store = new SqliteStore(join(home, "gridq.db"));
after(() => store.close());

const T0 = 1_800_000_000;
let now = T0;
const silent = { info() {}, warn() {}, error() {}, debug() {} };

async function accepted(auth: Authenticator, token: string): Promise<string | null> {
  try {
    await auth.verifyToken(token);
    return null;
  } catch (e) {
    assert.ok(e instanceof GridqError, String(e));
    return e.code;
  }
}

test("the token follows the job's current walltime and end, not the one granted at issue", async () => {
  await store.migrate();
  const deps: ServiceDeps = {
    store,
    clock: { now: () => now },
    config: resolveConfig({ env: {}, overrides: { home } }),
    nodes: staticNodeDirectory([]),
    log: silent,
  };
  await createUser(deps, "alice", "a-long-password-1", "user");
  const auth = new Authenticator(deps, new Uint8Array(32).fill(7));
  const job = await store.insertJob(newJob({ user: "alice", walltime: 600, submittedAt: T0 }), {
    at: T0,
    description: "submitted",
  });
  const token = await auth.issueJobToken(job);
  const [running] = await store.updateJobs([
    {
      id: job.id,
      expect: { state: "waiting" },
      patch: { state: "running", startedAt: T0 + 5 },
      event: { at: T0 + 5, type: "started", description: "started" },
    },
  ]);
  assert.equal(running?.state, "running");
  const end = T0 + 5 + 600 + JOB_TOKEN_SLACK;
  now = end - 1;
  assert.equal(await accepted(auth, token), null, "valid within walltime + slack");
  now = end + 1;
  assert.equal(await accepted(auth, token), "GRIDQ_TOKEN_EXPIRED", "expired past walltime + slack");

  // The walltime is extended by an hour: the same token works again, up to the new end.
  await store.updateJobs([
    {
      id: job.id,
      expect: { state: "running" },
      patch: { state: "running", walltime: 4200 },
      event: { at: now, type: "walltime-change", description: "walltime 4200" },
    },
  ]);
  assert.equal(await accepted(auth, token), null, "extended: valid again");
  now = T0 + 5 + 4200 + JOB_TOKEN_SLACK + 1;
  assert.equal(await accepted(auth, token), "GRIDQ_TOKEN_EXPIRED", "past the extended end");

  // The job ends early: its token dies within the slack after the end.
  now = T0 + 1000;
  await store.updateJobs([
    {
      id: job.id,
      expect: { state: "running" },
      patch: { state: "terminated", stoppedAt: T0 + 1000, exitCode: 0 },
      event: { at: T0 + 1000, type: "terminated", description: "ended" },
    },
  ]);
  now = T0 + 1000 + JOB_TOKEN_SLACK + 1;
  assert.equal(await accepted(auth, token), "GRIDQ_TOKEN_EXPIRED", "dead after the end + slack");

  // A forged job claim (another job id) fails the signature; a token for a job that is gone is revoked.
  const other = await auth.issueJobToken({ ...job, id: job.id + 1000 });
  now = T0 + 1000;
  assert.equal(await accepted(auth, other), "GRIDQ_TOKEN_REVOKED", "no such job");
});
