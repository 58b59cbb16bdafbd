// Hole 3 of issue 10, tried over HTTP against a real server and its agent: the token a job finds
// in its environment (GRIDQ_TOKEN) is good for that job only, for its lifetime only.

import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { after, before, test } from "node:test";
import { eventually, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { type Answer, adminToken, bearer, call, claimsOf } from "./helpers/http-client.ts";

let server: GridqServer;
let admin: string;
let work: string;

before(async () => {
  server = await startGridq({ config: "site:\n  cores: 2\n" });
  admin = bearer(await adminToken(server));
  work = tempDir();
  // Writable by whichever account the agent runs jobs as.
  chmodSync(work, 0o777);
});
after(() => server.stop());

/** Jobs outlive a server stop by design: end this test's jobs before the server goes. */
async function endJobs(): Promise<void> {
  const r = await call(server.url, "GET", "/3.0/sites/local/jobs?state=running,waiting,launching", {
    auth: admin,
  });
  for (const j of (r.body.items as { uid: number }[] | undefined) ?? []) {
    await call(server.url, "DELETE", `/3.0/sites/local/jobs/${j.uid}`, { auth: admin });
  }
  await eventually(
    async () =>
      (await call(server.url, "GET", "/3.0/sites/local/jobs?state=running,launching", { auth: admin })).body
        .total === 0,
    20_000,
    "jobs to end",
  );
}

/** Submit (as the admin) a job that prints its token, and wait for the token to appear. */
async function jobWithToken(walltime: number): Promise<{ id: number; token: string; node: string }> {
  const s = await call(server.url, "POST", "/3.0/sites/local/jobs", {
    auth: admin,
    body: { command: 'echo "token=$GRIDQ_TOKEN"; exec sleep 120', directory: work, walltime },
  });
  assert.equal(s.status, 201, s.text);
  const id = s.body.uid as number;
  const token = await eventually(
    async () => {
      const out = await call(server.url, "GET", `/3.0/sites/local/jobs/${id}/output?stream=stdout`, {
        auth: admin,
      });
      return out.status === 200 ? /token=(\S+)/.exec(out.text)?.[1] : undefined;
    },
    30_000,
    `job ${id}'s token in its output`,
  );
  const job = await call(server.url, "GET", `/3.0/sites/local/jobs/${id}`, { auth: admin });
  return { id, token, node: (job.body.assigned_nodes as string[])[0]! };
}

const refusedForScope = (r: Answer, what: string) => {
  assert.equal(r.status, 403, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body.code ?? (r.body as { code?: string }).code, "GRIDQ_TOKEN_SCOPE", what);
};

test("a job's token: its own job and exec on its nodes; nothing else, not even its admin submitter's rights", async (t0) => {
  t0.after(endJobs);
  const one = await jobWithToken(300);
  const two = await jobWithToken(300);
  assert.notEqual(one.token, two.token, "each job has its own token");
  const t = bearer(one.token);

  // What it is for: reading its job, and `gridq exec` on its node.
  assert.deepEqual((await call(server.url, "GET", "/3.0/auth/whoami", { auth: t })).body, {
    user: (await call(server.url, "GET", "/3.0/auth/whoami", { auth: admin })).body.user,
    admin: false,
  });
  assert.equal((await call(server.url, "GET", `/3.0/sites/local/jobs/${one.id}`, { auth: t })).status, 200);
  const exec = await call(server.url, "POST", `/3.0/sites/local/jobs/${one.id}/exec`, {
    auth: t,
    body: { node: one.node, command: "echo inside" },
  });
  assert.equal(exec.status, 200, exec.text);
  assert.match(exec.text, /"exit":0/);

  // Minting a user token (a 30-day one, or any), in either dialect: refused.
  refusedForScope(
    await call(server.url, "POST", "/3.0/auth/token", { auth: t, body: { expires_in: 30 * 86400 } }),
    "POST /3.0/auth/token",
  );
  refusedForScope(await call(server.url, "POST", "/stable/auth/token", { auth: t, body: {} }), "/stable");
  refusedForScope(
    await call(server.url, "POST", "/api/v3/token", { auth: t, form: { username: "x", password: "y" } }),
    "POST /api/v3/token",
  );
  // Another job of the same submitter: neither read, nor exec, nor cancel.
  refusedForScope(
    await call(server.url, "GET", `/3.0/sites/local/jobs/${two.id}`, { auth: t }),
    "GET another job",
  );
  refusedForScope(
    await call(server.url, "POST", `/3.0/sites/local/jobs/${two.id}/exec`, {
      auth: t,
      body: { node: two.node, command: "true" },
    }),
    "exec in another job",
  );
  refusedForScope(
    await call(server.url, "DELETE", `/3.0/sites/local/jobs/${two.id}`, { auth: t }),
    "cancel another job",
  );
  // Nor anything else its submitter (an admin) could do.
  for (const [method, path, body] of [
    ["GET", "/3.0/sites/local/jobs", undefined],
    ["POST", "/3.0/sites/local/jobs", { command: "true" }],
    ["GET", "/3.0/users", undefined],
    ["POST", "/3.0/users", { name: "mallory", password: "mallory-password", admin: true }],
    ["POST", "/3.0/sites/local/agents/n1/credential", undefined],
    ["GET", "/api/v3/jobs", undefined],
  ] as const) {
    refusedForScope(await call(server.url, method, path, { auth: t, body }), `${method} ${path}`);
  }
  assert.equal(
    (await call(server.url, "GET", "/3.0/sites/local/jobs", { auth: admin })).status,
    200,
    "the admin's own token still works",
  );

  // Its lifetime: the job's walltime and a slack, not the 30 days of a user's token.
  const c = claimsOf(one.token);
  const life = (c.exp as number) - (c.iat as number);
  assert.ok(life > 300 && life <= 300 + 600 + 2, `lifetime ${life} s`);
  assert.equal(c.job, one.id);

  // Once the job has ended, exec with its token is refused too.
  assert.equal(
    (await call(server.url, "DELETE", `/3.0/sites/local/jobs/${one.id}`, { auth: admin })).status,
    202,
  );
  await eventually(
    async () =>
      ["terminated", "error"].includes(
        (await call(server.url, "GET", `/3.0/sites/local/jobs/${one.id}`, { auth: admin })).body
          .state as string,
      ),
    20_000,
    "job to end",
  );
  const late = await call(server.url, "POST", `/3.0/sites/local/jobs/${one.id}/exec`, {
    auth: t,
    body: { node: one.node, command: "true" },
  });
  assert.equal(late.status, 409, late.text);
});
