// The jobs API through Fastify's inject(): auth, shapes, filters, errors, mounts, OpenAPI.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { resolveConfig } from "../../src/config/config.ts";
import { ERRORS } from "../../src/domain/errors.ts";
import { type Assembled, assemble } from "../../src/server/main.ts";
import { createUser } from "../../src/services/auth.ts";
import { eventually, tempDir } from "../helpers/gridq-process.ts";
import { accountsFor } from "../helpers/unix-accounts.ts";

let a: Assembled;
let home: string;
let aliceToken: string;
let bobToken: string;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

before(async () => {
  home = tempDir();
  // As root, each user's jobs run as a Unix account of their own (made for the test).
  const config = resolveConfig({
    env: {},
    overrides: {
      home,
      "site.cores": 2,
      "server.bodyLimit": 4096,
      "jobs.accounts": accountsFor(["alice", "bob", "root2"]),
    },
  });
  a = await assemble(config, { logger: false });
  const deps = a.services.deps;
  await createUser(deps, "alice", "alice-password", "user");
  await createUser(deps, "bob", "bob-password", "user");
  await createUser(deps, "root2", "root-password", "admin");
  aliceToken = (await a.services.auth.issueToken({ name: "alice", admin: false })).token;
  bobToken = (await a.services.auth.issueToken({ name: "bob", admin: false })).token;
});
after(() => a.close());

const as = (token: string) => ({ authorization: `Bearer ${token}` });
const submit = (token: string, body: unknown) =>
  a.app.inject({ method: "POST", url: "/3.0/sites/local/jobs", headers: as(token), payload: body as object });

describe("authentication", () => {
  test("anonymous requests get 401 with WWW-Authenticate and a JSON error", async () => {
    const r = await a.app.inject({ url: "/3.0/sites/local/jobs" });
    assert.equal(r.statusCode, 401);
    assert.match(r.headers["www-authenticate"] as string, /Basic realm="gridq"/);
    assert.equal(r.json().code, "GRIDQ_UNAUTHENTICATED");
  });
  test("Basic, Bearer, `Bearer:` and a bare JWT are accepted", async () => {
    for (const authorization of [
      basic("alice", "alice-password"),
      `Bearer ${aliceToken}`,
      `Bearer:${aliceToken}`,
      aliceToken,
    ]) {
      const r = await a.app.inject({ url: "/3.0/auth/whoami", headers: { authorization } });
      assert.equal(r.statusCode, 200, authorization);
      assert.deepEqual(r.json(), { user: "alice", admin: false });
    }
  });
  test("a wrong password, a forged token and an expired token are refused", async () => {
    const wrong = await a.app.inject({
      url: "/3.0/auth/whoami",
      headers: { authorization: basic("alice", "nope") },
    });
    assert.equal(wrong.statusCode, 401);
    const forged = await new SignJWT({ role: "admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer("gridq")
      .setExpirationTime("1h")
      .sign(new Uint8Array(32));
    const f = await a.app.inject({ url: "/3.0/auth/whoami", headers: as(forged) });
    assert.equal(f.statusCode, 401);
    const key = new Uint8Array(readFileSync(join(home, "jwt.key")));
    const old = Math.floor(Date.now() / 1000) - 7200;
    const expired = await new SignJWT({ role: "user" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer("gridq")
      .setIssuedAt(old)
      .setExpirationTime(old + 60)
      .sign(key);
    const e = await a.app.inject({ url: "/3.0/auth/whoami", headers: as(expired) });
    assert.equal(e.statusCode, 401);
    assert.equal(e.json().code, "GRIDQ_TOKEN_EXPIRED");
  });
  test("POST /auth/token issues a token from a username and password", async () => {
    const r = await a.app.inject({
      method: "POST",
      url: "/3.0/auth/token",
      payload: { username: "bob", password: "bob-password" },
    });
    assert.equal(r.statusCode, 200);
    const t = r.json();
    assert.equal(t.token_type, "Bearer");
    assert.equal(t.expires_in, 4 * 3600);
    const w = await a.app.inject({ url: "/3.0/auth/whoami", headers: as(t.access_token) });
    assert.equal(w.json().user, "bob");
  });
  test("only admins create users", async () => {
    const r = await a.app.inject({
      method: "POST",
      url: "/3.0/users",
      headers: as(aliceToken),
      payload: { name: "eve", password: "eve-password" },
    });
    assert.equal(r.statusCode, 403);
    const ok = await a.app.inject({
      method: "POST",
      url: "/3.0/users",
      headers: { authorization: basic("root2", "root-password") },
      payload: { name: "eve", password: "eve-password" },
    });
    assert.equal(ok.statusCode, 201);
    const dup = await a.app.inject({
      method: "POST",
      url: "/3.0/users",
      headers: { authorization: basic("root2", "root-password") },
      payload: { name: "eve", password: "eve-password" },
    });
    assert.equal(dup.statusCode, 409);
  });
});

describe("jobs", () => {
  test("submit returns 201, an absolute Location and the job representation", async () => {
    const r = await submit(aliceToken, { command: "echo hi", resources: "core=1", name: "n1" });
    assert.equal(r.statusCode, 201, r.body);
    const j = r.json();
    assert.equal(r.headers.location, `http://localhost:80/3.0/sites/local/jobs/${j.uid}`);
    assert.equal(j.user, "alice");
    assert.equal(j.name, "n1");
    assert.equal(j.walltime, 3600);
    assert.equal(j.queue, "default");
    assert.ok(["waiting", "launching", "running", "terminated"].includes(j.state));
    assert.equal(j.events[0].type, "SUBMIT");
    assert.deepEqual(
      j.links.map((l: { rel: string }) => l.rel),
      ["self", "parent", "stdout", "stderr"],
    );
    assert.ok(r.headers["x-request-id"]);
    await eventually(async () => {
      const g = await a.app.inject({ url: `/3.0/sites/local/jobs/${j.uid}`, headers: as(aliceToken) });
      return g.json().state === "terminated" && g.json();
    });
  });
  test("form-encoded submissions work like JSON ones", async () => {
    const r = await a.app.inject({
      method: "POST",
      url: "/3.0/sites/local/jobs",
      headers: { ...as(aliceToken), "content-type": "application/x-www-form-urlencoded" },
      payload: "command=true&resources=core%3D1%2Cwalltime%3D0%3A10&types=a&types=b&hold=true",
    });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().walltime, 600);
    assert.deepEqual(r.json().types, ["a", "b"]);
    assert.equal(r.json().state, "hold");
  });
  test("list filters, pagination and the collection envelope", async () => {
    for (let i = 0; i < 3; i++) await submit(bobToken, { command: "true", name: "listme", hold: true });
    const r = await a.app.inject({
      url: "/3.0/sites/local/jobs?user=bob&name=listme&limit=2",
      headers: as(bobToken),
    });
    assert.equal(r.statusCode, 200);
    const c = r.json();
    assert.equal(c.total, 3);
    assert.equal(c.offset, 0);
    assert.equal(c.items.length, 2);
    assert.ok(c.items[0].uid > c.items[1].uid, "newest first");
    const p2 = await a.app.inject({
      url: "/3.0/sites/local/jobs?user=bob&name=listme&limit=2&offset=2",
      headers: as(bobToken),
    });
    assert.equal(p2.json().items.length, 1);
    const held = await a.app.inject({
      url: "/3.0/sites/local/jobs?state=hold,waiting&user=bob",
      headers: as(bobToken),
    });
    assert.ok(held.json().items.every((j: { state: string }) => j.state === "hold" || j.state === "waiting"));
  });
  test("the owner and admins may cancel; others get 403; an ended job gets 409", async () => {
    const j = (await submit(aliceToken, { command: "true", hold: true })).json();
    const bob = await a.app.inject({
      method: "DELETE",
      url: `/3.0/sites/local/jobs/${j.uid}`,
      headers: as(bobToken),
    });
    assert.equal(bob.statusCode, 403);
    assert.equal(bob.json().code, "GRIDQ_FORBIDDEN");
    const own = await a.app.inject({
      method: "DELETE",
      url: `/3.0/sites/local/jobs/${j.uid}`,
      headers: as(aliceToken),
    });
    assert.equal(own.statusCode, 202);
    assert.equal(own.headers.location, `http://localhost:80/3.0/sites/local/jobs/${j.uid}`);
    const again = await a.app.inject({
      method: "DELETE",
      url: `/3.0/sites/local/jobs/${j.uid}`,
      headers: as(aliceToken),
    });
    assert.equal(again.statusCode, 409);
    const k = (await submit(bobToken, { command: "true", hold: true })).json();
    const admin = await a.app.inject({
      method: "DELETE",
      url: `/3.0/sites/local/jobs/${k.uid}`,
      headers: { authorization: basic("root2", "root-password") },
    });
    assert.equal(admin.statusCode, 202);
  });
  test("/stable and /sid serve the same jobs with their own links", async () => {
    for (const mount of ["/stable", "/sid"]) {
      const r = await a.app.inject({ url: `${mount}/sites/local/jobs?limit=1`, headers: as(aliceToken) });
      assert.equal(r.statusCode, 200);
      assert.ok(r.json().items[0].links[0].href.startsWith(`${mount}/sites/local/jobs/`));
    }
  });
  test("Accept: vnd.grid5000 is honoured, plain JSON otherwise", async () => {
    const v = await a.app.inject({
      url: "/3.0/sites/local/jobs",
      headers: { ...as(aliceToken), accept: "application/vnd.grid5000.collection+json" },
    });
    assert.match(v.headers["content-type"] as string, /vnd\.grid5000\.collection\+json/);
    const j = await a.app.inject({ url: "/3.0/sites/local/jobs", headers: as(aliceToken) });
    assert.match(j.headers["content-type"] as string, /^application\/json/);
  });
});

describe("bad input gets a 4xx naming the problem", () => {
  const cases: [
    string,
    () => Promise<{ statusCode: number; json(): { code: string; message: string } }>,
    number,
    string,
    RegExp,
  ][] = [
    [
      "malformed JSON",
      () =>
        a.app.inject({
          method: "POST",
          url: "/3.0/sites/local/jobs",
          headers: { ...as(aliceToken), "content-type": "application/json" },
          payload: '{"command": ',
        }),
      400,
      "GRIDQ_INVALID_JSON",
      /JSON/,
    ],
    [
      "a field of the wrong type",
      () => submit(aliceToken, { command: 5, types: { a: 1 } }),
      400,
      "GRIDQ_VALIDATION",
      // JSON is not coerced: the number where a string belongs is named first.
      /body\.command: must be a string/,
    ],
    [
      "an unknown field",
      () => submit(aliceToken, { command: "true", comand: "x" }),
      400,
      "GRIDQ_VALIDATION",
      /comand/,
    ],
    ["no command", () => submit(aliceToken, { resources: "core=1" }), 400, "GRIDQ_VALIDATION", /command/],
    [
      "a bad walltime",
      () => submit(aliceToken, { command: "true", walltime: "1:xx" }),
      400,
      "GRIDQ_INVALID_WALLTIME",
      /1:xx/,
    ],
    [
      "bad resources",
      () => submit(aliceToken, { command: "true", resources: "core=" }),
      400,
      "GRIDQ_INVALID_RESOURCES",
      /position/,
    ],
    [
      "too many cores",
      () => submit(aliceToken, { command: "true", resources: "core=64" }),
      400,
      "GRIDQ_UNSATISFIABLE",
      /never/,
    ],
    [
      "a relative directory",
      () => submit(aliceToken, { command: "true", directory: "rel" }),
      400,
      "GRIDQ_VALIDATION",
      /absolute/,
    ],
    [
      "an admin-only queue",
      () => submit(aliceToken, { command: "true", queue: "admin" }),
      403,
      "GRIDQ_FORBIDDEN",
      /admin/,
    ],
    [
      "an oversize body",
      () => submit(aliceToken, { command: "x".repeat(5000) }),
      413,
      "GRIDQ_PAYLOAD_TOO_LARGE",
      /./,
    ],
    [
      "a non-numeric id",
      () => a.app.inject({ url: "/3.0/sites/local/jobs/abc", headers: as(aliceToken) }),
      400,
      "GRIDQ_VALIDATION",
      /id/,
    ],
    [
      "an unknown site",
      () => a.app.inject({ url: "/3.0/sites/nowhere/jobs", headers: as(aliceToken) }),
      404,
      "GRIDQ_UNKNOWN_SITE",
      /nowhere/,
    ],
    [
      "an unknown job",
      () => a.app.inject({ url: "/3.0/sites/local/jobs/424242", headers: as(aliceToken) }),
      404,
      "GRIDQ_UNKNOWN_JOB",
      /424242/,
    ],
    [
      "a limit over 500",
      () => a.app.inject({ url: "/3.0/sites/local/jobs?limit=501", headers: as(aliceToken) }),
      400,
      "GRIDQ_VALIDATION",
      /limit/,
    ],
    [
      "an unknown state",
      () => a.app.inject({ url: "/3.0/sites/local/jobs?state=running,bogus", headers: as(aliceToken) }),
      400,
      "GRIDQ_VALIDATION",
      /bogus/,
    ],
    [
      "a URL over the limit",
      () => a.app.inject({ url: `/3.0/sites/local/jobs?name=${"x".repeat(9000)}`, headers: as(aliceToken) }),
      414,
      "GRIDQ_URI_TOO_LONG",
      /limit/,
    ],
    [
      "an unknown route",
      () => a.app.inject({ url: "/3.0/nothing-here", headers: as(aliceToken) }),
      404,
      "GRIDQ_NOT_FOUND",
      /nothing-here/,
    ],
  ];
  for (const [what, run, status, code, message] of cases) {
    test(what, async () => {
      const r = await run();
      assert.equal(r.statusCode, status);
      assert.equal(r.json().code, code);
      assert.match(r.json().message, message);
      assert.equal(ERRORS[code as keyof typeof ERRORS].status, status, "the registry agrees");
    });
  }
});

describe("OpenAPI", () => {
  test("the document is generated from the route schemas and served publicly", async () => {
    const r = await a.app.inject({ url: "/3.0/apidocs/json" });
    assert.equal(r.statusCode, 200);
    const doc = r.json();
    assert.ok(doc.openapi.startsWith("3."));
    assert.ok(doc.paths["/3.0/sites/{site}/jobs"].post);
    assert.ok(doc.paths["/3.0/sites/{site}/jobs/{id}"].delete);
    assert.equal(doc.paths["/stable/sites/{site}/jobs"], undefined, "aliases are not documented twice");
    const page = await a.app.inject({ url: "/3.0/apidocs/" });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers["content-type"] as string, /html/);
  });
});
