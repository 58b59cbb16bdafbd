// The authorization matrix (issue 10): every route of the running app, read from Fastify's route
// table, against anonymous, user A, user B and an admin. Each route needs a rule below: a route
// added without one, or a rule left for a route that is gone, fails the test. B never acts on
// A's job (403/404, the job unchanged); anonymous gets 401 wherever a route is not documented
// public; the admin succeeds. In process (assemble + inject): this is about routes and rules.

import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { InjectOptions } from "fastify";
import { resolveConfig } from "../../src/config/config.ts";
import { type Assembled, assemble } from "../../src/server/main.ts";
import { createUser } from "../../src/services/auth.ts";
import { eventually } from "../helpers/gridq-process.ts";
import { accountsFor } from "../helpers/unix-accounts.ts";

type Principal = "anonymous" | "A" | "B" | "admin";
const PRINCIPALS: Principal[] = ["anonymous", "A", "B", "admin"];
/**
 * public: documented public (README "Security"); user: any authenticated user; owner: the job's
 * owner or an admin (the route's job is A's); admin: admins only; node: a node credential only.
 */
type Who = "public" | "user" | "owner" | "admin" | "node";
/** The state A's job is in before the request (a fresh job per attempt for routes that change it). */
type JobKind = "held" | "waiting" | "ended" | "running" | "finished";

interface Rule {
  who: Who;
  job?: JobKind;
  /** Values for the route's parameters other than :site, :id, :node, :cluster. */
  params?: Record<string, string>;
  /** The route's :name is a user made afresh for each attempt (by the admin, through the API). */
  victim?: true;
  query?: string;
  body?: (p: Principal) => object;
  /** What success is (default: any status under 400). */
  ok?: (status: number) => boolean;
}

const PASSWORD = { A: "alice-password-1", B: "bob-password-22", admin: "boss-password-333" } as const;
const NAMES = { A: "alice", B: "bob", admin: "boss" } as const;
let newUsers = 0;
const is405 = (s: number) => s === 405;

/** Routes under /3.0, /stable and /sid are one rule each, keyed `{mount}/...`. */
const RULES: Record<string, Rule> = {
  "GET /": { who: "public" },
  "GET /metrics": { who: "public" },
  // The reference API (the platform description): reads public by default, other methods 405.
  "GET {mount}": { who: "public" },
  "GET {mount}/*": { who: "public", params: { "*": "sites" } },
  ...Object.fromEntries(
    ["POST", "PUT", "PATCH", "DELETE"].flatMap((m) => [
      [`${m} {mount}`, { who: "public", ok: is405 }],
      [`${m} {mount}/*`, { who: "public", params: { "*": "sites" }, ok: is405 }],
    ]),
  ),
  "GET {mount}/apidocs": { who: "public" },
  "GET {mount}/apidocs/": { who: "public" },
  "GET {mount}/apidocs/json": { who: "public" },
  "GET {mount}/apidocs/yaml": { who: "public" },
  "GET {mount}/apidocs/static/index.html": { who: "public" },
  "GET {mount}/apidocs/static/swagger-initializer.js": { who: "public" },
  "GET {mount}/apidocs/static/*": { who: "public", params: { "*": "swagger-ui.css" } },
  "POST {mount}/auth/token": {
    who: "public",
    body: () => ({ username: NAMES.A, password: PASSWORD.A }),
  },
  "GET {mount}/auth/whoami": { who: "user" },
  "POST {mount}/users": {
    who: "admin",
    body: () => ({ name: `new${++newUsers}`, password: "a-long-new-password" }),
  },
  "GET {mount}/users": { who: "admin" },
  // Another user's account: admins only (revoking one's own tokens is tested in auth-users).
  "DELETE {mount}/users/:name": { who: "admin", victim: true },
  "PATCH {mount}/users/:name": { who: "admin", victim: true, body: () => ({ disabled: true }) },
  "POST {mount}/users/:name/revoke-tokens": { who: "admin", victim: true },
  "POST {mount}/sites/:site/jobs": { who: "user", body: () => ({ command: "true", hold: true }) },
  "GET {mount}/sites/:site/jobs": { who: "user" },
  "GET {mount}/sites/:site/jobs/:id": { who: "user", job: "finished" },
  "DELETE {mount}/sites/:site/jobs/:id": { who: "owner", job: "held" },
  "POST {mount}/sites/:site/jobs/:id/hold": { who: "owner", job: "waiting" },
  "POST {mount}/sites/:site/jobs/:id/resume": { who: "owner", job: "held" },
  "GET {mount}/sites/:site/jobs/:id/walltime": { who: "user", job: "finished" },
  "POST {mount}/sites/:site/jobs/:id/walltime": {
    who: "owner",
    job: "held",
    body: () => ({ walltime: "+0:01" }),
  },
  "GET {mount}/sites/:site/jobs/:id/output": { who: "owner", job: "finished" },
  "POST {mount}/sites/:site/jobs/:id/exec": { who: "owner", job: "running" },
  "GET {mount}/sites/:site/agents": { who: "user" },
  "GET {mount}/sites/:site/agents/connect": { who: "node", query: "node=NODE" },
  "POST {mount}/sites/:site/agents/:node/credential": { who: "admin" },
  "GET {mount}/sites/:site/metrics": { who: "user" },
  "GET {mount}/sites/:site/status": { who: "user" },
  "GET {mount}/sites/:site/clusters/:cluster/status": { who: "user" },
  // Accelerator REST v3: any user reads any job (docs/accelerator.md "Permissions", as the
  // native API); only the owner or an admin stops or forgets one.
  "POST /api/v3/token": { who: "public", body: () => ({ username: NAMES.A, password: PASSWORD.A }) },
  "POST /api/v3/jobs": { who: "user", body: () => ({ command: "true" }) },
  "GET /api/v3/jobs/:id": { who: "user", job: "finished" },
  "GET /api/v3/jobs/:id/:field": { who: "user", job: "finished", params: { field: "status" } },
  "GET /api/v3/jobs/:id/*": { who: "user", job: "finished", params: { "*": "" } },
  "PUT /api/v3/jobs/:id": { who: "owner", job: "held" },
  "DELETE /api/v3/jobs/:id": { who: "owner", job: "ended" },
  "GET /api/v3/query": { who: "user", query: "select=id,user&from=jobs" },
  "GET /api/v3/project/:pid": { who: "user", params: { pid: "1" } },
  "GET /api/v3/project/:pid/:field": { who: "user", params: { pid: "1", field: "version" } },
  "GET /api/v3/projects/:pid": { who: "user", params: { pid: "1" } },
  "GET /api/v3/projects/:pid/:field": { who: "user", params: { pid: "1", field: "version" } },
};

/** Every `METHOD /path` of the app, from the tree `printRoutes()` draws (labels are path pieces). */
function routesOf(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*)$/.exec(line);
    if (!m) continue;
    let label = m[2]!;
    let methods: string[] = [];
    const mm = /^(.*) \(([A-Z, ]+)\)$/.exec(label);
    if (mm) {
      label = mm[1]!;
      methods = mm[2]!.split(", ");
    }
    stack.length = m[1]!.length / 4;
    stack.push(label);
    for (const method of methods) out.push(`${method} ${stack.join("")}`);
  }
  return out;
}

const MOUNT = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \/(3\.0|stable|sid)(?=\/|$)/;
const keyOf = (route: string) => route.replace(MOUNT, "$1 {mount}");

let a: Assembled;
let home: string;
let work: string;
const tokens = new Map<Principal, string>();
const headers = (p: Principal) => (p === "anonymous" ? {} : { authorization: `Bearer ${tokens.get(p)}` });
const shared = new Map<JobKind, number>();

before(async () => {
  home = mkdtempSync(join(tmpdir(), "gridq-authz-"));
  work = mkdtempSync(join(tmpdir(), "gridq-authz-work-"));
  chmodSync(work, 0o777); // jobs may run as an unprivileged account
  const config = resolveConfig({
    env: {},
    // As root, each user's jobs run as a Unix account of their own (made for the test).
    overrides: {
      home,
      "site.cores": 4,
      "jobs.defaultDirectory": work,
      "jobs.accounts": accountsFor(["alice", "bob", "boss"]),
    },
  });
  a = await assemble(config, { logger: false });
  assert.ok(a.node, "the embedded agent's node");
  for (const p of ["A", "B", "admin"] as const) {
    await createUser(a.services.deps, NAMES[p], PASSWORD[p], p === "admin" ? "admin" : "user");
    const r = await a.app.inject({
      method: "POST",
      url: "/3.0/auth/token",
      payload: { username: NAMES[p], password: PASSWORD[p] },
    });
    assert.equal(r.statusCode, 200, r.body);
    tokens.set(p, r.json().access_token);
  }
});
after(async () => {
  // What A left running ends with the test.
  for (const id of shared.values())
    await call("admin", { method: "DELETE", url: `/3.0/sites/local/jobs/${id}` });
  const running = shared.get("running");
  if (running)
    await eventually(async () => (await jobOf(running)).state === "error", 20_000, "A's job stopped");
  await a?.close();
  // Removed here, after the server and its agent are gone (kept with GRIDQ_KEEP_TEST_DATA).
  if (!process.env.GRIDQ_KEEP_TEST_DATA)
    for (const d of [home, work]) rmSync(d, { recursive: true, force: true });
});

const call = (p: Principal, o: InjectOptions) =>
  a.app.inject({ ...o, headers: { ...headers(p), ...(o.headers ?? {}) } });

const submitA = async (body: object): Promise<number> => {
  const r = await call("A", { method: "POST", url: "/3.0/sites/local/jobs", payload: body });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().uid;
};
const jobOf = async (id: number) => (await call("admin", { url: `/3.0/sites/local/jobs/${id}` })).json();

/** A's job in the given state: fresh for routes that change it, shared for the others. */
async function jobFor(kind: JobKind): Promise<number> {
  if (kind === "held") return submitA({ command: "true", hold: true });
  if (kind === "waiting") {
    // Waits on a held job: stays waiting without ever starting.
    const held = await submitA({ command: "true", hold: true });
    return submitA({ command: "true", dependencies: [`afterok:${held}`] });
  }
  if (kind === "ended") {
    const id = await submitA({ command: "true", hold: true });
    assert.equal((await call("A", { method: "DELETE", url: `/3.0/sites/local/jobs/${id}` })).statusCode, 202);
    return id;
  }
  const known = shared.get(kind);
  if (known) return known;
  const id =
    kind === "running"
      ? await submitA({ command: "sleep 120", directory: work })
      : await submitA({ command: "echo secret-of-alice", directory: work });
  const want = kind === "running" ? "running" : "terminated";
  await eventually(async () => (await jobOf(id)).state === want, 20_000, `A's job ${want}`);
  shared.set(kind, id);
  return id;
}

/** A user made by the admin through the API, whose account a user-admin route then acts on. */
async function newVictim(): Promise<string> {
  const name = `victim${++newUsers}`;
  const r = await call("admin", {
    method: "POST",
    url: "/3.0/users",
    payload: { name, password: "a-long-new-password" },
  });
  assert.equal(r.statusCode, 201, r.body);
  return name;
}

/** A concrete request for a route: parameters filled, A's job in the state the rule needs. */
async function requestFor(
  route: string,
  rule: Rule,
  p: Principal,
): Promise<{ o: InjectOptions; job?: number }> {
  const [method, path] = route.split(" ") as [InjectOptions["method"], string];
  const job = rule.job ? await jobFor(rule.job) : undefined;
  const victim = rule.victim ? await newVictim() : undefined;
  const node = a.node!;
  const values: Record<string, string> = {
    site: node.site,
    node: node.uid,
    cluster: node.cluster,
    ...(job !== undefined ? { id: String(job) } : {}),
    ...(victim !== undefined ? { name: victim } : {}),
    ...rule.params,
  };
  const url = path.replace(/:(\w+)|\*/g, (m, name: string | undefined) => {
    const v = values[name ?? "*"];
    if (v === undefined) throw new Error(`${route}: no value for ${m}`);
    return v;
  });
  const query = rule.query?.replace("NODE", node.uid);
  const body =
    rule.job === "running" && route.endsWith("/exec")
      ? { node: node.uid, command: `touch ${work}/exec-by-${p}` }
      : rule.body?.(p);
  return { o: { method, url: query ? `${url}?${query}` : url, ...(body ? { payload: body } : {}) }, job };
}

test("every route has a rule, and every rule a route", async () => {
  await a.app.ready();
  const routes = routesOf(a.app.printRoutes()).filter((r) => !r.startsWith("HEAD "));
  assert.ok(routes.length > 50, `the route table was read (${routes.length} routes)`);
  const keys = new Set(routes.map(keyOf));
  const missing = [...keys].filter((k) => !(k in RULES));
  assert.deepEqual(missing, [], "routes without a rule in RULES: add one (who may call it?)");
  const stale = Object.keys(RULES).filter((k) => !keys.has(k));
  assert.deepEqual(stale, [], "rules for routes that no longer exist");
});

test("each principal gets what the route's rule says, on every mount", async (t) => {
  await a.app.ready();
  const routes = routesOf(a.app.printRoutes()).filter((r) => !r.startsWith("HEAD ") && keyOf(r) in RULES);
  const failures: string[] = [];
  for (const route of routes) {
    const rule = RULES[keyOf(route)]!;
    const ok = rule.ok ?? ((s: number) => s < 400);
    for (const p of PRINCIPALS) {
      const { o, job } = await requestFor(route, rule, p);
      const before = job !== undefined ? await jobOf(job) : null;
      const r = await call(p, o);
      const s = r.statusCode;
      const where = `${p} ${o.method} ${o.url} -> ${s} ${r.body.slice(0, 200)}`;
      if (s >= 500) failures.push(`server error: ${where}`);
      else if (rule.who === "public" || (p !== "anonymous" && rule.who === "user")) {
        if (!ok(s)) failures.push(`should succeed: ${where}`);
      } else if (p === "anonymous" || rule.who === "node") {
        if (s !== 401) failures.push(`should be 401: ${where}`);
      } else if (rule.who === "admin" && p !== "admin") {
        if (s !== 403) failures.push(`should be 403: ${where}`);
      } else if (rule.who === "owner" && p === "B") {
        if (s !== 403 && s !== 404) failures.push(`should be 403 or 404: ${where}`);
        // Nothing of A's changed, and nothing of A's came back.
        const after = await jobOf(job!);
        if (after.state !== before!.state || after.walltime !== before!.walltime)
          failures.push(`B changed A's job: ${where}`);
        if (r.body.includes("secret-of-alice")) failures.push(`B read A's output: ${where}`);
        if (route.endsWith("/exec") && existsSync(join(work, "exec-by-B")))
          failures.push(`B ran a command in A's job: ${where}`);
      } else if (!ok(s)) failures.push(`should succeed: ${where}`);
    }
  }
  t.diagnostic(`${routes.length} routes x ${PRINCIPALS.length} principals checked`);
  assert.deepEqual(failures, []);
  // The owner's and the admin's commands did run in A's job: the matrix is not passing blindly.
  assert.ok(existsSync(join(work, "exec-by-A")) && existsSync(join(work, "exec-by-admin")));
});
