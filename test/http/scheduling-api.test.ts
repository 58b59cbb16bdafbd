// Scheduling through the HTTP API with the embedded agent running real processes: predictions
// and pending reasons, hold/resume, property checks, besteffort preemption, the status API.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { resolveConfig } from "../../src/config/config.ts";
import { type Assembled, assemble } from "../../src/server/main.ts";
import { createUser } from "../../src/services/auth.ts";
import { eventually, tempDir } from "../helpers/gridq-process.ts";
import { accountsFor } from "../helpers/unix-accounts.ts";

let a: Assembled;
let token: string;
let home: string;

before(async () => {
  home = tempDir();
  const config = resolveConfig({
    env: {},
    overrides: {
      home,
      "site.cores": 2,
      "jobs.accounts": accountsFor(["alice"]),
      "jobs.killGrace": 1,
      "queues.short.priority": 3,
      "queues.short.maxWalltime": 60,
      "queues.short.maxJobsPerUser": 1,
    },
  });
  a = await assemble(config, { logger: false });
  await createUser(a.services.deps, "alice", "alice-password", "user");
  token = (await a.services.auth.issueToken({ name: "alice", admin: false })).token;
  // The embedded agent must be connected before jobs can start.
  await eventually(async () => a.services.controller.reachable("local").size > 0, 20_000, "the agent");
});
after(() => a.close());

const headers = () => ({ authorization: `Bearer ${token}` });
const submit = async (body: object) => {
  const r = await a.app.inject({
    method: "POST",
    url: "/3.0/sites/local/jobs",
    headers: headers(),
    payload: body,
  });
  return r;
};
const job = async (id: number) =>
  (await a.app.inject({ url: `/3.0/sites/local/jobs/${id}`, headers: headers() })).json();
const stateIs = (id: number, ...states: string[]) =>
  eventually(
    async () => {
      const j = await job(id);
      return states.includes(j.state) && j;
    },
    20_000,
    `job ${id} in ${states.join("/")}`,
  );
const cancel = (id: number) =>
  a.app.inject({ method: "DELETE", url: `/3.0/sites/local/jobs/${id}`, headers: headers() });

test("an unknown property is a 400 pointing at it; an impossible request is GRIDQ_UNSATISFIABLE", async () => {
  const p = await submit({ command: "true", properties: "cluster='local' and gpus > 0" });
  assert.equal(p.statusCode, 400);
  assert.equal(p.json().code, "GRIDQ_INVALID_PROPERTIES");
  assert.match(p.json().message, /unknown property 'gpus' at position 21/);
  const r = await submit({ command: "true", resources: "{nope=1}/nodes=1" });
  assert.equal(r.statusCode, 400);
  assert.equal(r.json().code, "GRIDQ_INVALID_RESOURCES");
  const n = await submit({ command: "true", resources: "nodes=2" });
  assert.equal(n.statusCode, 400);
  assert.equal(n.json().code, "GRIDQ_UNSATISFIABLE");
  assert.match(n.json().message, /asks for 2 nodes, only 1/);
  const f = await submit({ command: "true", properties: "gpu_count > 0" });
  assert.equal(f.json().code, "GRIDQ_UNSATISFIABLE");
  const ok = await submit({
    command: "true",
    resources: "{cluster='local'}/nodes=1/core=1+core=1",
    properties: "not exotic or exotic is null",
  });
  assert.equal(ok.statusCode, 201, ok.body);
  await stateIs(ok.json().uid, "terminated");
});

test("a job behind a full node waits with a predicted start and reason; hold and resume", async () => {
  const big = (await submit({ command: "sleep 30", resources: "core=2", walltime: 600 })).json();
  await stateIs(big.uid, "running");
  const next = (await submit({ command: "true", resources: "core=1" })).json();
  const waiting = await eventually(async () => {
    const j = await job(next.uid);
    return j.pending_reason === "resources" && j;
  });
  assert.equal(waiting.state, "waiting");
  assert.ok(waiting.scheduled_at >= big.submitted_at + 590, `predicted ${waiting.scheduled_at}`);

  const held = await a.app.inject({
    method: "POST",
    url: `/3.0/sites/local/jobs/${next.uid}/hold`,
    headers: headers(),
  });
  assert.equal(held.statusCode, 200, held.body);
  assert.equal(held.json().state, "hold");
  await eventually(async () => (await job(next.uid)).pending_reason === "hold");
  const again = await a.app.inject({
    method: "POST",
    url: `/3.0/sites/local/jobs/${next.uid}/hold`,
    headers: headers(),
  });
  assert.equal(again.statusCode, 409);

  // Status: the node is busy, the running job holds it and the held one is not planned.
  const st = await a.app.inject({ url: "/3.0/sites/local/status", headers: headers() });
  assert.equal(st.statusCode, 200);
  const nodes = st.json().nodes as Record<string, Record<string, unknown>>;
  const [node] = Object.values(nodes);
  assert.equal(node?.hard, "alive");
  assert.equal(node?.soft, "busy");
  assert.deepEqual([node?.free_slots, node?.busy_slots, node?.freeable_slots], [0, 2, 0]);
  const res = node?.reservations as Record<string, unknown>[];
  assert.deepEqual(
    res.map((r) => r.uid),
    [big.uid],
  );
  for (const k of ["uid", "user", "queue", "state", "started_at", "walltime"]) assert.ok(k in res[0]!, k);
  assert.equal("events" in res[0]!, false);
  const hidden = await a.app.inject({
    url: "/3.0/sites/local/status?job_details=no&disks=no",
    headers: headers(),
  });
  assert.equal("reservations" in Object.values(hidden.json().nodes as object)[0], false);
  assert.equal("disks" in hidden.json(), false);
  const cl = await a.app.inject({ url: "/3.0/sites/local/clusters/nope/status", headers: headers() });
  assert.equal(cl.statusCode, 404);

  const resumed = await a.app.inject({
    method: "POST",
    url: `/3.0/sites/local/jobs/${next.uid}/resume`,
    headers: headers(),
  });
  assert.equal(resumed.json().state, "waiting");
  // Planned now: the status lists it on the node, after the running job.
  await eventually(async () => {
    const s = (await a.app.inject({ url: "/3.0/sites/local/status", headers: headers() })).json();
    const r = (Object.values(s.nodes)[0] as { reservations: { uid: number; scheduled_at?: number }[] })
      .reservations;
    return r.length === 2 && r[1]?.uid === next.uid && r[1]?.scheduled_at !== undefined;
  });
  await cancel(big.uid);
  await stateIs(next.uid, "terminated");
});

test("a besteffort job is preempted (error, with the reason) when a normal job needs its cores", async () => {
  const be = (await submit({ command: "sleep 60", resources: "core=2", queue: "besteffort" })).json();
  await stateIs(be.uid, "running");
  const st = (await a.app.inject({ url: "/3.0/sites/local/status", headers: headers() })).json();
  const node = Object.values(st.nodes)[0] as Record<string, unknown>;
  assert.equal(node.soft, "busy_besteffort");
  assert.deepEqual([node.free_slots, node.busy_slots, node.freeable_slots], [0, 0, 2]);
  const normal = (await submit({ command: "true", resources: "core=1" })).json();
  const killed = await stateIs(be.uid, "error");
  assert.match(killed.message, /preempt|besteffort/i);
  assert.match(killed.message, new RegExp(String(normal.uid)));
  await stateIs(normal.uid, "terminated");
});

test("queues from the configuration: max walltime and max active jobs per user", async () => {
  const long = await submit({ command: "true", queue: "short", walltime: 120 });
  assert.equal(long.statusCode, 400);
  assert.match(long.json().message, /over the 60 s allowed in queue 'short'/);
  const first = await submit({ command: "true", queue: "short", walltime: 30, hold: true });
  assert.equal(first.statusCode, 201, first.body);
  const second = await submit({ command: "true", queue: "short", walltime: 30 });
  assert.equal(second.statusCode, 429);
  assert.equal(second.json().code, "GRIDQ_QUOTA_EXCEEDED");
  await cancel(first.json().uid);
  const third = await submit({ command: "true", queue: "short", walltime: 30 });
  assert.equal(third.statusCode, 201);
  await stateIs(third.json().uid, "terminated");
  const unknown = await submit({ command: "true", queue: "nope" });
  assert.match(unknown.json().message, /known: admin, production, default, besteffort, short/);
});

test("an array gives N jobs, each with its index and the array id in the environment", async () => {
  const r = await submit({ command: 'echo "$GRIDQ_ARRAY_INDEX $OAR_ARRAY_INDEX $GRIDQ_ARRAY_ID"', array: 3 });
  assert.equal(r.statusCode, 201, r.body);
  const first = r.json();
  assert.deepEqual([first.array_id, first.array_index], [first.uid, 0]);
  const list = (await a.app.inject({ url: "/3.0/sites/local/jobs?limit=3", headers: headers() })).json()
    .items as { uid: number; array_id: number; array_index: number }[];
  assert.deepEqual(
    list.map((j) => [j.uid, j.array_id, j.array_index]),
    [2, 1, 0].map((i) => [first.uid + i, first.uid, i]),
  );
  for (const j of list) {
    await stateIs(j.uid, "terminated");
    const out = readFileSync(join(home, "jobs", "alice", `OAR.${j.uid}.stdout`), "utf8");
    assert.equal(out, `${j.array_index} ${j.array_index} ${first.uid}\n`);
  }
  const bad = await submit({ command: "true", array: 0 });
  assert.equal(bad.statusCode, 400);
});

test("dependencies: afterok waits, then runs or ends in error when the job failed; afterany runs", async () => {
  const ok = (await submit({ command: "sleep 1" })).json();
  const fails = (await submit({ command: "sleep 1; exit 3" })).json();
  const afterOk = (await submit({ command: "true", dependencies: [`afterok:${ok.uid}`] })).json();
  const afterFail = (await submit({ command: "true", dependencies: [`afterok:${fails.uid}`] })).json();
  const afterAny = (await submit({ command: "true", dependencies: [`afterany:${fails.uid}`] })).json();
  const waiting = await eventually(async () => {
    const j = await job(afterOk.uid);
    return (j.pending_reason === "dependency" || j.state !== "waiting") && j;
  });
  if (waiting.state === "waiting") assert.equal(waiting.pending_reason, "dependency");
  await stateIs(afterOk.uid, "terminated");
  const failed = await stateIs(afterFail.uid, "error");
  assert.match(
    failed.message,
    new RegExp(
      `afterok:${fails.uid} cannot be satisfied: job ${fails.uid} ended in terminated with exit code 3`,
    ),
  );
  await stateIs(afterAny.uid, "terminated");
  const started = await job(afterOk.uid);
  const okDone = await job(ok.uid);
  assert.ok(started.started_at >= okDone.stopped_at, "afterok started after its dependency ended");
  const bad = await submit({ command: "true", dependencies: ["before:1"] });
  assert.equal(bad.statusCode, 400);
  const unknown = await submit({ command: "true", dependencies: ["afterok:999999"] });
  assert.match(unknown.json().message, /no job 999999/);
});

test("a reservation starts at its time, not before", async () => {
  const at = new Date(Date.now() + 3000);
  const p = (n: number) => String(n).padStart(2, "0");
  const text = `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())}`;
  const r = (await submit({ command: "true", reservation: text })).json();
  const planned = await eventually(async () => {
    const j = await job(r.uid);
    return j.pending_reason === "reservation" && j;
  });
  assert.equal(planned.scheduled_at, Math.floor(at.getTime() / 1000));
  const done = await eventually(async () => {
    const j = await job(r.uid);
    return j.state === "terminated" && j;
  }, 40_000);
  assert.ok(done.started_at >= Math.floor(at.getTime() / 1000), `started ${done.started_at}`);
  const past = await submit({ command: "true", reservation: "2001-01-01 00:00:00" });
  assert.match(past.json().message, /in the past/);
  const bad = await submit({ command: "true", reservation: "tomorrow" });
  assert.equal(bad.statusCode, 400);
});

test("walltime change: granted to a running job when nobody waits for its cores, refused when a job would be delayed", async () => {
  const post = (id: number, walltime: string) =>
    a.app.inject({
      method: "POST",
      url: `/3.0/sites/local/jobs/${id}/walltime`,
      headers: headers(),
      payload: { walltime },
    });
  const j = (await submit({ command: "sleep 3", resources: "core=1", walltime: 2 })).json();
  await stateIs(j.uid, "running");
  await eventually(async () => {
    const g = (
      await a.app.inject({ url: `/3.0/sites/local/jobs/${j.uid}/walltime`, headers: headers() })
    ).json();
    return g.possible !== "UNLIMITED";
  });
  const r = await post(j.uid, "+0:0:10");
  assert.equal(r.statusCode, 202, r.body);
  assert.deepEqual([r.json().granted, r.json().walltime, r.json().status], ["+0:0:10", 12, "granted"]);
  const done = await stateIs(j.uid, "terminated", "error");
  assert.equal(done.state, "terminated", "the agent's walltime timer was re-armed");

  const blocker = (await submit({ command: "sleep 30", resources: "core=2", walltime: 40 })).json();
  await stateIs(blocker.uid, "running");
  const next = (await submit({ command: "true", resources: "core=2", walltime: 60 })).json();
  await eventually(async () => (await job(next.uid)).pending_reason === "resources");
  const refused = await post(blocker.uid, "+1:00");
  assert.equal(refused.json().status, "refused");
  assert.equal(refused.json().walltime, 40);
  const waitingChange = await post(next.uid, "2:00");
  assert.deepEqual([waitingChange.json().walltime, waitingChange.json().granted], [7200, "+1:59:0"]);
  assert.equal((await post(next.uid, "soon")).statusCode, 400);
  await cancel(blocker.uid);
  await stateIs(next.uid, "terminated");
});
