// Accelerator REST v3 over plain HTTP against a real gridq server: token, reads, queries, submit, stop,
// forget, the seed's nc_info.py and the curl script, and keep-alive counted server-side.

import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { after, before, test } from "node:test";
import { eventually, type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { accountsFor } from "../helpers/unix-accounts.ts";
import { clientEnv, ensurePythonRequests, field, http, ncInfoPattern, run } from "./helpers/clients.ts";

let gq: GridqServer;
let python = "python3";
let v3: string;
const tokens: Record<string, string> = {};

async function tokenFor(name: string, password: string): Promise<string> {
  const r = await http(`${v3}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username: name, password }).toString(),
  });
  assert.equal(r.status, 200, r.text);
  const t = r.json();
  return `${t.token_type}:${t.access_token}`;
}

const get = (path: string, who = "user99") =>
  http(`${v3}${path}`, { headers: { Authorization: tokens[who]! } });
const connections = async () => Number(field((await get("/project/1/connections")).json(), "CONNECTIONS"));

before(async () => {
  python = ensurePythonRequests();
  // As root (CI), the users that submit run jobs as Unix accounts of their own, made for the test.
  gq = await startGridq({
    config: `jobs: {accounts: ${JSON.stringify(accountsFor(["user99", "alice"]))}}\n`,
  });
  v3 = `${gq.url}/api/v3`;
  const admin = `Basic ${Buffer.from(`${userInfo().username}:${gq.password}`).toString("base64")}`;
  for (const name of ["user99", "alice"]) {
    const r = await http(`${gq.url}/3.0/users`, {
      method: "POST",
      headers: { Authorization: admin, "content-type": "application/json" },
      body: JSON.stringify({ name, password: `${name}-secret-pw` }),
    });
    assert.equal(r.status, 201, r.text);
    tokens[name] = await tokenFor(name, `${name}-secret-pw`);
  }
});
after(async () => {
  await gq?.stop();
});

const started: { id: number; who: string }[] = [];

/**
 * Stop the jobs a test started and wait until they end (in `finally`, so even when it fails):
 * a gridq server waits for its running jobs before it exits, and no process may be left behind.
 */
async function endJobs(): Promise<void> {
  for (const { id, who } of started.splice(0)) {
    await http(`${v3}/jobs/${id}`, { method: "PUT", headers: { Authorization: tokens[who]! } });
    await eventually(
      async () => {
        const r = await get(`/jobs/${id}/STATUSNC`, who);
        return r.status !== 200 || !["Running", "Queued"].includes(String(field(r.json(), "STATUSNC")));
      },
      20_000,
      `job ${id} ended`,
    );
  }
}

async function submit(body: Record<string, unknown>, who = "user99"): Promise<number> {
  const r = await http(`${v3}/jobs`, {
    method: "POST",
    headers: { Authorization: tokens[who]!, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 201, r.text);
  const id = Number(field(r.json(), "IDINT"));
  started.push({ id, who });
  return id;
}

const statusOf = async (id: number) => field((await get(`/jobs/${id}/STATUSNC`)).json(), "STATUSNC");
/** VOV's STATUS: RUNNING only once the process started (STATUSNC shows Running from launching on). */
const vovStatusOf = async (id: number) => field((await get(`/jobs/${id}/STATUS`)).json(), "STATUS");

test("token: form and JSON bodies; failures are 4xx JSON with an `error` key", async () => {
  const form = await http(`${v3}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "username=alice&password=alice-secret-pw",
  });
  assert.equal(form.status, 200);
  const t = form.json();
  assert.equal(t.token_type, "Bearer");
  assert.equal(t.expires_in, 4 * 3600);
  assert.match(String(t.access_token), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const json = await http(`${v3}/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password: "alice-secret-pw" }),
  });
  assert.equal(json.status, 200);
  for (const [body, status, msg] of [
    ["username=alice&password=wrong-password", 401, /invalid user name or password/],
    ["username=nobody-here&password=whatever1", 401, /invalid user name or password/],
    ["username=alice", 400, /username.*password/],
    ["", 400, /username.*password/],
  ] as const) {
    const r = await http(`${v3}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    assert.equal(r.status, status, `${body}: ${r.text}`);
    assert.match(String(r.json().error), msg);
  }
});

test("Authorization: `<type>:<jwt>`, `<type> <jwt>` and a bare jwt; anything else is 401 with `error`", async () => {
  const jwt = tokens.alice!.split(":")[1]!;
  for (const h of [`Bearer:${jwt}`, `Bearer ${jwt}`, jwt]) {
    const r = await http(`${v3}/project/1/project`, { headers: { Authorization: h } });
    assert.equal(r.status, 200, `${h.slice(0, 10)}: ${r.text}`);
  }
  for (const h of [undefined, "Bearer:nonsense", `Bearer:${jwt}x`]) {
    const r = await http(`${v3}/project/1/project`, { headers: h ? { Authorization: h } : {} });
    assert.equal(r.status, 401);
    assert.ok(r.json().error, r.text);
  }
});

test("project/1: the queue name and the version", async () => {
  const p = (await get("/project/1/project")).json();
  assert.deepEqual(p, {
    startrow: 1,
    endrow: 1,
    query: "SELECT project FROM 1",
    errormsg: "",
    columns: [{ col: 0, field: "PROJECT" }],
    rows: [["local"]],
  });
  assert.match(String(field((await get("/project/1/version")).json(), "VERSION")), /^gridq \d+\.\d+\.\d+/);
  assert.deepEqual((await get("/projects/1/project")).json().rows, [["local"]]);
  assert.equal((await get("/project/2/project")).status, 404);
  assert.equal((await get("/project/1/nosuch")).status, 400);
});

test("two running jobs: nc_info.py and the curl script print the seed's format; sessions keep one connection", async () => {
  try {
    const a = await submit({ command: "sleep 123", jobname: "first" });
    const b = await submit({ command: "sleep 456" });
    await eventually(
      async () => (await statusOf(a)) === "Running" && (await statusOf(b)) === "Running",
      15_000,
      "running",
    );
    const env = clientEnv({ NC_URL: `${gq.url}/project`, USER: "user99" });
    const ids = [String(a).padStart(9, "0"), String(b)];

    const before = await connections();
    const py = await run(python, ["nc_info.py", ...ids], env, "user99-secret-pw\n");
    assert.equal(py.code, 0, py.stderr);
    const afterPy = await connections();
    assert.match(py.stdout, ncInfoPattern(a, "user99", "sleep 123"));
    assert.match(py.stdout, ncInfoPattern(b, "user99", "sleep 456"));
    // requests.Session: the token and both job reads share one connection (+1: our own read).
    assert.equal(afterPy - before, 2, `connections: ${before} -> ${afterPy}`);

    // The same three requests without a session open one connection each: the count is real.
    const noSession = [
      "import requests, sys",
      "from getToken import getJWT",
      "jwt = getJWT(sys.argv[1], 'user99', 'user99-secret-pw')",
      "for i in sys.argv[2:]: requests.get(sys.argv[1] + '/api/v3/jobs/' + i, headers={'Authorization': jwt}).raise_for_status()",
    ].join("\n");
    const plain = await run(python, ["-c", noSession, gq.url, ...ids], env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal((await connections()) - afterPy, 4);

    const beforeCurl = await connections();
    const sh = await run("sh", ["nc_info.sh", ...ids], { ...env, NC_PASSWORD: "user99-secret-pw" });
    assert.equal(sh.code, 0, sh.stderr);
    assert.match(sh.stdout, ncInfoPattern(a, "user99", "sleep 123"));
    assert.match(sh.stdout, ncInfoPattern(b, "user99", "sleep 456"));
    // One curl run for the token, one for all fourteen field reads, plus our read.
    assert.equal((await connections()) - beforeCurl, 3);

    // A wrong password: getToken.py prints the status and the server's `error`, and exits 1.
    const bad = await run(python, ["nc_info.py", ids[0]!], env, "not-the-password\n");
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^401\n.*\ninvalid user name or password\n/s);

    for (const id of [a, b]) {
      const r = await http(`${v3}/jobs/${id}`, { method: "PUT", headers: { Authorization: tokens.user99! } });
      assert.equal(r.status, 200, r.text);
    }
    await eventually(
      async () => (await statusOf(a)) === "Failed" && (await statusOf(b)) === "Failed",
      15_000,
      "stopped",
    );
  } finally {
    await endJobs();
  }
});

test("one job: every field, one field, `/` and `/*`, CSV; bad ids and fields are 4xx", async () => {
  const id = await submit({ command: "true", jobname: "quick", resources: "CORES/1" });
  await eventually(async () => (await statusOf(id)) === "Done", 15_000, "done");
  const all = (await get(`/jobs/${id}`)).json();
  assert.equal(all.query, `SELECT * FROM jobs WHERE idint==${id}`);
  assert.equal(field(all, "JOBNAME"), "quick");
  assert.equal(field(all, "STATUS"), "VALID");
  assert.equal(field(all, "EXITSTATUS"), 0);
  assert.equal(field(all, "RESOURCES"), "core=1");
  for (const suffix of ["/", "/*"])
    assert.deepEqual((await get(`/jobs/${id}${suffix}`)).json().columns, all.columns);
  const one = (await get(`/jobs/${id}/status`)).json();
  assert.deepEqual(one.columns, [{ col: 0, field: "status" }]);
  assert.deepEqual(one.rows, [["VALID"]]);
  assert.equal((await get(`/jobs/${id}/jobname?format=csv`)).text, "jobname\nquick\n");
  assert.equal((await get(`/jobs/${id}/jobname?format=csv-noheader`)).text, "quick\n");
  for (const [path, status, msg] of [
    ["/jobs/abc", 400, /not a positive integer/],
    ["/jobs/999999", 404, /999999/],
    [`/jobs/${id}/password`, 400, /unknown field 'password'/],
    [`/jobs/${id}?format=xml`, 400, /format: 'xml'/],
    [`/jobs/${id}/a/b`, 404, /no such REST v3 resource/],
    ["/nosuch", 404, /no such REST v3 resource/],
  ] as const) {
    const r = await get(path);
    assert.equal(r.status, status, `${path}: ${r.text}`);
    assert.match(String(r.json().error), msg);
  }
});

test("query: selection rules, order, limit, csv, and errors with positions", async () => {
  try {
    const mine = await submit({ command: "sleep 300", jobname: "q-run" });
    const hers = await submit({ command: "sleep 300", jobname: "q-her" }, "alice");
    await eventually(
      async () => (await vovStatusOf(mine)) === "RUNNING" && (await vovStatusOf(hers)) === "RUNNING",
      15_000,
      "run",
    );
    const q = (params: Record<string, string>) =>
      get(`/query?${new URLSearchParams({ from: "jobs", ...params })}`);

    const r1 = (await q({ select: "idint,user,statusnc", where: "status==RUNNING & user==user99" })).json();
    assert.equal(r1.query, "SELECT idint,user,statusnc FROM jobs WHERE status==RUNNING & user==user99");
    assert.deepEqual(r1.rows, [[mine, "user99", "Running"]]);
    const r2 = (
      await q({
        select: "jobname",
        where: "(user==alice | user==user99) & !status==VALID & jobname~^q-",
        order: "jobname DESC",
      })
    ).json();
    assert.deepEqual(r2.rows, [["q-run"], ["q-her"]]);
    assert.equal(r2.startrow, 1);
    assert.equal(r2.endrow, 2);
    const r3 = (await q({ select: "idint", where: "isjob", order: "idint DESC", limit: "1" })).json();
    assert.deepEqual(r3.rows, [[hers]]);
    assert.match(String(r3.query), /ORDERBY idint DESC LIMIT 1$/);
    const csv = await q({ select: "jobname,statusnc", where: "jobname==q-run", format: "csv" });
    assert.equal(csv.text, "jobname,statusnc\nq-run,Running\n");
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    const none = (await q({ select: "idint", where: "user==nobody-at-all" })).json();
    assert.deepEqual([none.startrow, none.endrow, none.rows], [0, 0, []]);

    for (const [params, msg] of [
      [{ where: "status==RUNNING &" }, /position 18/],
      [{ where: "(user==bob" }, /expected '\)'/],
      [{ where: "color==red" }, /unknown field 'color' at position 1/],
      [{ select: "idint,secret" }, /select: unknown field 'secret'/],
      [{ order: "idint sideways" }, /order:/],
      [{ limit: "0" }, /limit/],
      [{ from: "hosts" }, /from: 'hosts'/],
    ] as const) {
      const r = await q(params as Record<string, string>);
      assert.equal(r.status, 400, r.text);
      assert.match(String(r.json().error), msg);
    }

    // Others may read (as on the native API) but not stop or forget someone else's job.
    assert.equal((await get(`/jobs/${hers}/user`)).status, 200);
    const stop = await http(`${v3}/jobs/${hers}`, {
      method: "PUT",
      headers: { Authorization: tokens.user99! },
    });
    assert.equal(stop.status, 403);
    const forgetRunning = await http(`${v3}/jobs/${mine}`, {
      method: "DELETE",
      headers: { Authorization: tokens.user99! },
    });
    assert.equal(forgetRunning.status, 409);
    assert.match(String(forgetRunning.json().error), /stop it first/);
    for (const [id, who] of [
      [mine, "user99"],
      [hers, "alice"],
    ] as const) {
      assert.equal(
        (await http(`${v3}/jobs/${id}`, { method: "PUT", headers: { Authorization: tokens[who]! } })).status,
        200,
      );
    }
    await eventually(async () => (await statusOf(mine)) === "Failed", 15_000, "stopped");
    const forget = await http(`${v3}/jobs/${mine}`, {
      method: "DELETE",
      headers: { Authorization: tokens.user99! },
    });
    assert.equal(forget.status, 200, forget.text);
    assert.equal((await get(`/jobs/${mine}`)).status, 404);
    await eventually(async () => (await statusOf(hers)) === "Failed", 15_000, "stopped");
  } finally {
    await endJobs();
  }
});

test("submit: VOV_JOB_DESC keys map to gridq; unknown keys and bad values are 400s naming them", async () => {
  for (const [body, msg] of [
    [{ command: "true", colour: "blue" }, /colour: unknown key/],
    [{ command: "true", resources: "RAM/8192" }, /resources: 'RAM\/8192' is not supported/],
    [{ command: "true", env: "WEIRD" }, /env: 'WEIRD'/],
    [{ resources: "CORES/1" }, /command/],
    [["true"], /body: must be a JSON object/],
  ] as const) {
    const r = await http(`${v3}/jobs`, {
      method: "POST",
      headers: { Authorization: tokens.user99!, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(r.status, 400, r.text);
    assert.match(String(r.json().error), msg);
  }
});

test("tokens expire (auth.tokenTtl); an expired token gets 401 so clients log in again", async () => {
  // Expiry is checked in whole seconds from a whole-second issue time: 4 s leaves at least 3 s of use.
  const short = await startGridq({ config: "auth:\n  tokenTtl: 4\n" });
  try {
    const r = await http(`${short.url}/api/v3/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: userInfo().username, password: short.password }).toString(),
    });
    const t = r.json();
    assert.equal(t.expires_in, 4);
    const auth = { Authorization: `${t.token_type}:${t.access_token}` };
    assert.equal((await http(`${short.url}/api/v3/project/1/project`, { headers: auth })).status, 200);
    await new Promise((res) => setTimeout(res, 4100));
    const late = await http(`${short.url}/api/v3/project/1/project`, { headers: auth });
    assert.equal(late.status, 401);
    assert.match(String(late.json().error), /expired/);
  } finally {
    await short.stop();
  }
});

test("bad input of every kind is a 4xx with an `error`, never a 500", async () => {
  const auth = { Authorization: tokens.user99! };
  const cases: [string, string, Record<string, string>, string | undefined][] = [
    ["GET", "/query?select=idint&select=user", auth, undefined],
    ["GET", "/query?format=json&format=csv", auth, undefined],
    ["GET", `/query?where=${encodeURIComponent("user==")}`, auth, undefined],
    ["GET", `/query?where=${encodeURIComponent('user=="x')}`, auth, undefined],
    ["GET", `/query?where=${encodeURIComponent("(((")}`, auth, undefined],
    ["GET", "/query?limit=abc", auth, undefined],
    ["GET", "/query?limit=1e9", auth, undefined],
    ["GET", `/query?order=${encodeURIComponent("idint DESC DESC")}`, auth, undefined],
    ["GET", "/jobs/0", auth, undefined],
    ["GET", "/jobs/-3/status", auth, undefined],
    ["GET", `/jobs/1/${"x".repeat(300)}`, auth, undefined],
    ["POST", "/jobs", { ...auth, "content-type": "application/json" }, "{not json"],
    ["POST", "/jobs", { ...auth, "content-type": "application/json" }, '{"command": 5}'],
    [
      "POST",
      "/jobs",
      { ...auth, "content-type": "application/json" },
      '{"command": "true", "env": {"1X": "a"}}',
    ],
    [
      "POST",
      "/jobs",
      { ...auth, "content-type": "application/json" },
      '{"command": "true", "autokill": "soon"}',
    ],
    ["POST", "/jobs", { ...auth, "content-type": "text/plain" }, "command=true"],
    ["PUT", "/jobs/1", { ...auth, "content-type": "application/json" }, '{"action": "explode"}'],
    ["DELETE", "/jobs/abc", auth, undefined],
    ["POST", "/token", { "content-type": "application/json" }, "[1,2]"],
    ["POST", "/token", { "content-type": "application/json" }, '{"username": 1, "password": 2}'],
  ];
  for (const [method, path, headers, body] of cases) {
    const r = await http(`${v3}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} ${body ?? ""}: ${r.status} ${r.text}`);
    assert.ok(typeof r.json().error === "string" && r.json().error !== "", `${method} ${path}: ${r.text}`);
  }
});
