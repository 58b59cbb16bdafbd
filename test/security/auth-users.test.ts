// Hole 4 of issue 10, tried over HTTP against real servers: tokens must not outlive their users.
// Unknown users, roles claimed by a token, deleted and disabled users, revocation, longer tokens.

import assert from "node:assert/strict";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { testDatabase } from "../helpers/test-postgres.ts";
import { adminToken, basic, bearer, call, claimsOf, makeUsers } from "./helpers/http-client.ts";

let server: GridqServer;
let admin: string;
let tokens: Record<string, string>;
// On PostgreSQL: the last test starts a second server on the same store, which a SQLite
// database refuses (one server per SQLite file).
let db: Awaited<ReturnType<typeof testDatabase>>;

before(async () => {
  db = await testDatabase();
  server = await startGridq({ env: { GRIDQ_DB_URL: db.url } });
  admin = bearer(await adminToken(server));
  tokens = await makeUsers(server, ["alice", "bob", "carol", "dave", "erin", "frank", "judy"], {
    admin: ["judy"],
  });
});
after(async () => {
  await server.stop();
  await db.drop();
});

/** A token signed with the server's own key (what a stolen or stale token looks like). */
async function forge(claims: Record<string, unknown>, sub: string): Promise<string> {
  const key = new Uint8Array(readFileSync(join(server.home, "jwt.key")));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .setIssuer("gridq")
    .sign(key);
}

const whoami = (auth: string) => call(server.url, "GET", "/3.0/auth/whoami", { auth });

describe("a token is only as good as its user in the store", () => {
  test("a well-signed token for a user that does not exist is refused", async () => {
    const r = await whoami(bearer(await forge({ role: "admin" }, "nobody-here")));
    assert.equal(r.status, 401, r.text);
    assert.equal(r.body.code, "GRIDQ_TOKEN_REVOKED");
    // Nor can it submit.
    const s = await call(server.url, "POST", "/3.0/sites/local/jobs", {
      auth: bearer(await forge({}, "nobody-here")),
      body: { command: "true" },
    });
    assert.equal(s.status, 401);
  });

  test("the admin role is the store's: a token claiming it gives a user nothing", async () => {
    const t = await forge({ role: "admin" }, "alice");
    assert.deepEqual((await whoami(bearer(t))).body, { user: "alice", admin: false });
    assert.equal((await call(server.url, "GET", "/3.0/users", { auth: bearer(t) })).status, 403);
    // And a token the server issues carries no role to trust.
    assert.equal(claimsOf(tokens.alice!).role, undefined);
    assert.deepEqual((await whoami(bearer(tokens.judy!))).body, { user: "judy", admin: true });
  });

  test("a deleted user's token and password stop working at once; only admins delete", async () => {
    assert.equal((await whoami(bearer(tokens.bob!))).status, 200);
    assert.equal((await whoami(basic("bob", "bob-password"))).status, 200); // now in the Basic cache
    const byUser = await call(server.url, "DELETE", "/3.0/users/bob", { auth: bearer(tokens.carol!) });
    assert.equal(byUser.status, 403);
    const del = await server.cli(["user", "delete", "bob"]);
    assert.equal(del.code, 0, del.stderr);
    const t = await whoami(bearer(tokens.bob!));
    assert.equal(t.status, 401);
    assert.equal(t.body.code, "GRIDQ_TOKEN_REVOKED");
    assert.equal((await whoami(basic("bob", "bob-password"))).status, 401);
    const submit = await call(server.url, "POST", "/3.0/sites/local/jobs", {
      auth: bearer(tokens.bob!),
      body: { command: "true" },
    });
    assert.equal(submit.status, 401);
    assert.equal((await server.cli(["user", "delete", "bob"])).code, 1, "deleting twice: 404");
    // A new user of the same name is someone else: the old tokens stay dead.
    const again = await call(server.url, "POST", "/3.0/users", {
      auth: admin,
      body: { name: "bob", password: "another-bob-password" },
    });
    assert.equal(again.status, 201, again.text);
    const old = await whoami(bearer(tokens.bob!));
    assert.equal(old.status, 401, "a deleted user's token does not come back with the name");
    assert.equal(old.body.code, "GRIDQ_TOKEN_REVOKED");
    assert.equal((await whoami(basic("bob", "another-bob-password"))).status, 200);
  });

  test("a disabled user is refused (token and password) until enabled again", async () => {
    const dis = await server.cli(["user", "disable", "carol", "--json"]);
    assert.equal(dis.code, 0, dis.stderr);
    assert.equal(JSON.parse(dis.stdout).disabled, true);
    for (const auth of [bearer(tokens.carol!), basic("carol", "carol-password")]) {
      const r = await whoami(auth);
      assert.equal(r.status, 401);
      assert.equal(r.body.code, "GRIDQ_USER_DISABLED");
    }
    const token = await call(server.url, "POST", "/3.0/auth/token", {
      body: { username: "carol", password: "carol-password" },
    });
    assert.equal(token.status, 401);
    assert.equal((await server.cli(["user", "enable", "carol"])).code, 0);
    assert.equal((await whoami(bearer(tokens.carol!))).status, 200);
    const list = JSON.parse((await server.cli(["user", "list", "--json"])).stdout);
    assert.equal(list.items.find((u: { name: string }) => u.name === "carol").disabled, false);
  });

  test("the last enabled admin can be neither deleted nor disabled", async () => {
    // Two admins: the first-start one and judy. Disable judy, then the first may not go.
    const first = (await whoami(admin)).body.user as string;
    assert.equal((await server.cli(["user", "disable", "judy"])).code, 0);
    for (const args of [
      ["user", "delete", first],
      ["user", "disable", first],
    ]) {
      const r = await server.cli(args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /last enabled admin/);
    }
    assert.equal((await server.cli(["user", "enable", "judy"])).code, 0);
  });

  test("token revoke: a user revokes their own tokens; an admin anyone's; no one else's", async () => {
    const old = tokens.dave!;
    const other = await call(server.url, "POST", "/3.0/users/erin/revoke-tokens", { auth: bearer(old) });
    assert.equal(other.status, 403);
    const self = await server.cli(["token", "revoke", "--json"], { env: { GRIDQ_TOKEN: old } });
    assert.equal(self.code, 0, self.stderr);
    assert.equal(JSON.parse(self.stdout).name, "dave");
    const r = await whoami(bearer(old));
    assert.equal(r.status, 401);
    assert.equal(r.body.code, "GRIDQ_TOKEN_REVOKED");
    // A token issued after the revocation works: the password is untouched.
    // (With Basic credentials and no body at all, as `curl -X POST -u` sends.)
    const fresh = await call(server.url, "POST", "/3.0/auth/token", { auth: basic("dave", "dave-password") });
    assert.equal(fresh.status, 200);
    assert.equal((await whoami(bearer(fresh.body.access_token as string))).status, 200);
    // The admin revokes erin's.
    assert.equal((await whoami(bearer(tokens.erin!))).status, 200);
    assert.equal((await server.cli(["token", "revoke", "--user", "erin"])).code, 0);
    assert.equal((await whoami(bearer(tokens.erin!))).status, 401);
  });

  test("bad input to the user routes is a 4xx naming the problem", async () => {
    const notBool = await call(server.url, "PATCH", "/3.0/users/alice", {
      auth: admin,
      body: { disabled: "maybe" },
    });
    assert.equal(notBool.status, 400);
    assert.match(String(notBool.body.message), /disabled/);
    const extra = await call(server.url, "PATCH", "/3.0/users/alice", {
      auth: admin,
      body: { disabled: false, role: "admin" },
    });
    assert.equal(extra.status, 400);
    assert.match(String(extra.body.message), /role/);
    assert.equal((await call(server.url, "DELETE", "/3.0/users/no-such-user", { auth: admin })).status, 404);
    assert.equal(
      (await call(server.url, "DELETE", `/3.0/users/${"x".repeat(100)}`, { auth: admin })).status,
      400,
    );
    const revoke = await call(server.url, "POST", "/3.0/users/no-such-user/revoke-tokens", { auth: admin });
    assert.equal(revoke.status, 404);
  });

  test("a token cannot mint a longer-lived token than itself", async () => {
    const short = await call(server.url, "POST", "/3.0/auth/token", {
      auth: basic("frank", "frank-password"),
      body: { expires_in: 120 },
    });
    assert.equal(short.status, 200);
    const shortExp = claimsOf(short.body.access_token as string).exp as number;
    const longer = await call(server.url, "POST", "/3.0/auth/token", {
      auth: bearer(short.body.access_token as string),
      body: { expires_in: 30 * 86400 },
    });
    assert.equal(longer.status, 200, longer.text);
    assert.ok((longer.body.expires_in as number) <= 120, `expires_in ${longer.body.expires_in}`);
    assert.ok((claimsOf(longer.body.access_token as string).exp as number) <= shortExp);
    // The Accelerator dialect takes only a password: its tokens live the default time.
    const acc = await call(server.url, "POST", "/api/v3/token", {
      form: { username: "frank", password: "frank-password" },
    });
    assert.equal(acc.status, 200, acc.text);
  });
});

test("another server sharing the store sees a deletion within auth.userCacheTtl", async () => {
  // A second server process on the same database and key (as several servers behind one name).
  const home2 = tempDir();
  copyFileSync(join(server.home, "jwt.key"), join(home2, "jwt.key"));
  const second = await startGridq({
    home: home2,
    config: `auth:\n  userCacheTtl: 1\nsite:\n  cores: 1\n`,
    env: { GRIDQ_DB_URL: db.url },
  });
  try {
    const t = bearer(tokens.judy!);
    assert.equal((await call(second.url, "GET", "/3.0/auth/whoami", { auth: t })).status, 200);
    const del = await call(server.url, "DELETE", "/3.0/users/judy", { auth: admin });
    assert.equal(del.status, 204);
    const start = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - start < 10_000) {
      status = (await call(second.url, "GET", "/3.0/auth/whoami", { auth: t })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 401, "the other server still honours the deleted user's token after 10 s");
    // A 1 s cache, plus the slack a loaded machine needs for a few requests.
    assert.ok(Date.now() - start < 5000, `seen after ${Date.now() - start} ms`);
  } finally {
    await second.stop();
  }
});
