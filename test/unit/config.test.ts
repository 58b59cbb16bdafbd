// Configuration: defaults, YAML file, environment, flag overrides, precedence, errors, freezing.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError, type ResolveOptions, resolveConfig } from "../../src/config/config.ts";
import { DEFAULT_QUEUES } from "../../src/domain/queues.ts";

const dirs: string[] = [];
after(() => {
  if (!process.env.GRIDQ_KEEP_TEST_DATA) for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function home(yaml?: string): string {
  const d = mkdtempSync(join(tmpdir(), "gridq-config-"));
  dirs.push(d);
  if (yaml !== undefined) writeFileSync(join(d, "config.yaml"), yaml);
  return d;
}

/** Resolve with nothing from the real environment. */
const resolveWith = (h: string, o: Partial<ResolveOptions> = {}) =>
  resolveConfig({ ...o, env: { GRIDQ_HOME: h, ...o.env } });

function assertConfigError(fn: () => unknown, key: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    assert.ok(e.message.includes(key), `'${e.message}' does not name ${key}`);
    return true;
  });
}

test("defaults, with the data folder from GRIDQ_HOME", () => {
  const h = home();
  assert.deepEqual(resolveWith(h), {
    home: h,
    server: {
      host: "127.0.0.1",
      port: 8080,
      bodyLimit: 1048576,
      maxUrlLength: 8192,
      logLevel: "info",
      keepAliveTimeout: 72,
      headersTimeout: 20,
      requestTimeout: 120,
      maxConnections: 2048,
      maxConnectionsPerClient: 256,
      spareConnections: 256,
    },
    site: { name: "local", cluster: "local", cores: 0, nodes: [] },
    agents: {
      heartbeatInterval: 5,
      suspectAfter: 15,
      deadAfter: 60,
      metricsInterval: 5,
      metricsHistory: 720,
    },
    reference: { path: null, prefix: "data/grid5000", branch: null, publicReads: true },
    agent: { node: null },
    db: { engine: "sqlite", path: join(h, "gridq.db"), url: null, poolSize: 10 },
    auth: {
      tokenTtl: 14400,
      maxTokenTtl: 2592000,
      basicCacheTtl: 60,
      userCacheTtl: 5,
      lockout: {
        pairFailures: 5,
        addressFailures: 30,
        accountFailures: 100,
        maxSeconds: 300,
        forgetAfter: 3600,
        perAddressChecks: 1,
      },
    },
    jobs: {
      defaultWalltime: 3600,
      killGrace: 5,
      defaultDirectory: join(h, "jobs"),
      allowRoot: false,
      accounts: {},
      minUid: 1000,
      denyAccounts: ["nobody", "nfsnobody"],
      umask: "077",
    },
    queues: [...DEFAULT_QUEUES],
    scheduler: { passInterval: 30, fairShareWeight: 0, fairShareHalfLife: 86400 },
    tls: { mode: "off", cert: null, key: null, chain: null, names: [] },
  });
});

test("without GRIDQ_HOME the data folder is under XDG_DATA_HOME", () => {
  const x = home();
  const c = resolveConfig({ env: { XDG_DATA_HOME: x } });
  assert.equal(c.home, join(x, "gridq"));
  assert.equal(c.db.path, join(x, "gridq", "gridq.db"));
});

test("the YAML file in the data folder sets values; paths are relative to the data folder", () => {
  const h = home(
    [
      "server:",
      "  port: 9001",
      "  logLevel: debug",
      "site:",
      "  name: grenoble",
      "  cores: 8",
      "db:",
      "  path: data/other.db",
      "jobs:",
      "  allowRoot: true",
      "  defaultDirectory: /srv/jobs",
      "",
    ].join("\n"),
  );
  const c = resolveWith(h);
  assert.equal(c.server.port, 9001);
  assert.equal(c.server.logLevel, "debug");
  assert.equal(c.server.host, "127.0.0.1", "unset keys keep their default");
  assert.deepEqual(c.site, { name: "grenoble", cluster: "local", cores: 8, nodes: [] });
  assert.equal(c.db.path, join(h, "data", "other.db"));
  assert.equal(c.jobs.allowRoot, true);
  assert.equal(c.jobs.defaultDirectory, "/srv/jobs");
  assert.equal(c.jobs.killGrace, 5);
});

test("an explicit file is read instead of the data folder's; an empty file changes nothing", () => {
  const h = home("server:\n  port: 1111\n");
  const other = join(home(), "other.yaml");
  writeFileSync(other, "server:\n  port: 2222\n");
  assert.equal(resolveWith(h, { file: other }).server.port, 2222);
  writeFileSync(other, "");
  assert.equal(resolveWith(h, { file: other }).server.port, 8080);
});

test("environment variables override the file; flags override both", () => {
  const h = home("server:\n  port: 1000\n  host: 0.0.0.0\nauth:\n  tokenTtl: 60\n");
  const env = {
    GRIDQ_PORT: "2000",
    GRIDQ_TOKEN_TTL: "120",
    GRIDQ_ALLOW_ROOT_JOBS: "yes",
    GRIDQ_DB: "env.db",
  };
  const fromEnv = resolveWith(h, { env });
  assert.equal(fromEnv.server.port, 2000);
  assert.equal(fromEnv.server.host, "0.0.0.0");
  assert.equal(fromEnv.auth.tokenTtl, 120);
  assert.equal(fromEnv.jobs.allowRoot, true);
  assert.equal(fromEnv.db.path, join(h, "env.db"));
  const fromFlags = resolveWith(h, { env, overrides: { "server.port": 3000, "server.host": "::1" } });
  assert.equal(fromFlags.server.port, 3000);
  assert.equal(fromFlags.server.host, "::1");
  assert.equal(fromFlags.auth.tokenTtl, 120);
  assert.equal(resolveWith(h).server.port, 1000);
  assert.equal(resolveWith(h, { env: { GRIDQ_ALLOW_ROOT_JOBS: "0" } }).jobs.allowRoot, false);
});

test("the data folder: flag over GRIDQ_HOME, and its config file follows it", () => {
  const a = home("site:\n  name: from-a\n");
  const b = home("site:\n  name: from-b\n");
  const c = resolveWith(a, { overrides: { home: b } });
  assert.equal(c.home, b);
  assert.equal(c.site.name, "from-b");
  assert.equal(c.db.path, join(b, "gridq.db"));
});

test("bad values are refused with a ConfigError naming the key", () => {
  const h = home();
  assertConfigError(() => resolveWith(h, { env: { GRIDQ_PORT: "http" } }), "server.port");
  assertConfigError(() => resolveWith(h, { env: { GRIDQ_PORT: "70000" } }), "server.port");
  assertConfigError(() => resolveWith(h, { env: { GRIDQ_PORT: "" } }), "server.port");
  assertConfigError(() => resolveWith(h, { env: { GRIDQ_PORT: "80.5" } }), "server.port");
  assertConfigError(() => resolveWith(h, { overrides: { "server.port": -1 } }), "server.port");
  assertConfigError(() => resolveWith(h, { env: { GRIDQ_ALLOW_ROOT_JOBS: "maybe" } }), "jobs.allowRoot");
  assertConfigError(() => resolveWith(h, { env: { GRIDQ_TOKEN_TTL: "0" } }), "auth.tokenTtl");
  assertConfigError(() => resolveWith(h, { env: { GRIDQ_LOG_LEVEL: "" } }), "server.logLevel");
  assertConfigError(() => resolveWith(home("site:\n  name: ''\n")), "site.name");
  assertConfigError(() => resolveWith(home("site:\n  cores: many\n")), "site.cores");
  assertConfigError(() => resolveWith(home("server:\n  bodyLimit: 10\n")), "server.bodyLimit");
  assertConfigError(() => resolveWith(home("jobs:\n  killGrace: [1]\n")), "jobs.killGrace");
  assertConfigError(() => resolveWith(home("db:\n  engine: mysql\n")), "db.engine");
});

test("db.url (or GRIDQ_DB_URL) selects PostgreSQL; db.engine must agree; the URL is never echoed", () => {
  const url = "postgres://gridq:s3cret@db.example:5432/gridq";
  const fromEnv = resolveWith(home(), { env: { GRIDQ_DB_URL: url } });
  assert.deepEqual(fromEnv.db, {
    engine: "postgres",
    path: join(fromEnv.home, "gridq.db"),
    url,
    poolSize: 10,
  });
  const h = home(`db:\n  url: "postgresql://h/g"\n  engine: postgres\n  poolSize: 25\n`);
  assert.deepEqual(resolveWith(h).db, {
    engine: "postgres",
    path: join(h, "gridq.db"),
    url: "postgresql://h/g",
    poolSize: 25,
  });
  // An empty variable leaves the default (SQLite), as for every optional setting.
  assert.equal(resolveWith(home(), { env: { GRIDQ_DB_URL: "" } }).db.engine, "sqlite");
  assertConfigError(() => resolveWith(home("db:\n  engine: postgres\n")), "db.url");
  assertConfigError(
    () => resolveWith(home(), { env: { GRIDQ_DB_URL: url }, overrides: { "db.engine": "sqlite" } }),
    "db.engine",
  );
  assertConfigError(() => resolveWith(home("db:\n  poolSize: 0\n")), "db.poolSize");
  const secret = "mysql://root:hunter2@h/db";
  assert.throws(
    () => resolveWith(home(), { env: { GRIDQ_DB_URL: secret } }),
    (e: Error) => e instanceof ConfigError && e.message.includes("db.url") && !e.message.includes("hunter2"),
  );
});

test("job account settings: a user maps to one account of its own; the old shared-account settings are refused", () => {
  const c = resolveWith(home("jobs:\n  accounts: {alice: lab_alice}\n  minUid: 500\n  umask: '027'\n"));
  assert.deepEqual(c.jobs.accounts, { alice: "lab_alice" });
  assert.equal(c.jobs.minUid, 500);
  assert.equal(c.jobs.umask, "027");
  assertConfigError(() => resolveWith(home("jobs:\n  accounts: {alice: x, bob: x}\n")), "jobs.accounts");
  assertConfigError(() => resolveWith(home("jobs:\n  accounts: {alice: 'a/b'}\n")), "jobs.accounts.alice");
  assertConfigError(() => resolveWith(home("jobs:\n  accounts: [alice]\n")), "jobs.accounts");
  assertConfigError(() => resolveWith(home("jobs:\n  umask: 077\n")), "jobs.umask");
  assertConfigError(() => resolveWith(home("jobs:\n  minUid: 0\n")), "jobs.minUid");
  assertConfigError(() => resolveWith(home("jobs:\n  denyAccounts: nobody\n")), "jobs.denyAccounts");
  assertConfigError(() => resolveWith(home("jobs:\n  fallbackUser: nobody\n")), "jobs.fallbackUser");
  assertConfigError(() => resolveWith(home("jobs:\n  runAsSubmitter: false\n")), "jobs.runAsSubmitter");
  assert.equal(resolveWith(home("jobs:\n  runAsSubmitter: true\n")).jobs.allowRoot, false);
});

test("a missing explicit file, bad YAML or a non-mapping top are ConfigErrors naming the file", () => {
  const h = home();
  const missing = join(h, "nope.yaml");
  assertConfigError(() => resolveWith(h, { file: missing }), missing);
  const bad = join(h, "bad.yaml");
  writeFileSync(bad, "server: [unclosed\n");
  assertConfigError(() => resolveWith(h, { file: bad }), bad);
  writeFileSync(bad, "- a\n- b\n");
  assertConfigError(() => resolveWith(h, { file: bad }), bad);
});

test("the result is frozen all the way down", () => {
  const c = resolveWith(home());
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.server) && Object.isFrozen(c.jobs) && Object.isFrozen(c.db));
  assert.throws(() => {
    (c.server as { port: number }).port = 1;
  }, TypeError);
  assert.equal(c.server.port, 8080);
});

test("site.nodes declares agents' nodes; agents' timeouts must grow from heartbeat to death", () => {
  const h = home(
    "site:\n  nodes: [{name: n1, cores: 2}, {name: n2, cores: 4}]\nagents: {heartbeatInterval: 1, suspectAfter: 3, deadAfter: 9}\n",
  );
  const c = resolveWith(h);
  assert.deepEqual(c.site.nodes, [
    { name: "n1", cores: 2 },
    { name: "n2", cores: 4 },
  ]);
  assert.deepEqual(c.agents, {
    heartbeatInterval: 1,
    suspectAfter: 3,
    deadAfter: 9,
    metricsInterval: 5,
    metricsHistory: 720,
  });
  const bad = (yaml: string, re: RegExp) =>
    assert.throws(
      () => resolveWith(home(yaml)),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
    );
  bad("site:\n  nodes: n1\n", /site.nodes: expected a list/);
  bad("site:\n  nodes: [{name: n1, cores: 0}]\n", /site.nodes\[0\].cores/);
  bad("site:\n  nodes: [{name: 'a b', cores: 1}]\n", /not a node name/);
  bad("site:\n  nodes: [{name: n1, cores: 1}, {name: n1, cores: 2}]\n", /listed twice/);
  bad("agents: {heartbeatInterval: 5, suspectAfter: 5}\n", /suspectAfter must be longer/);
  bad("agents: {suspectAfter: 20, deadAfter: 10}\n", /deadAfter must be longer/);
  bad("server: {headersTimeout: 30, requestTimeout: 10}\n", /headersTimeout must not be longer/);
  bad("server: {maxConnectionsPerClient: 0}\n", /server.maxConnectionsPerClient/);
  bad("server: {keepAliveTimeout: -1}\n", /server.keepAliveTimeout/);
});

test("queues: built-in ones overridable field by field, new ones added, bad ones refused by key", () => {
  const c = resolveConfig({
    env: {},
    overrides: { home: "/tmp/x", "queues.default.maxWalltime": 7200, "queues.long.priority": 1 },
  });
  assert.deepEqual(
    c.queues.map((q) => [q.name, q.priority, q.maxWalltime]),
    [
      ["admin", 10, 365 * 86400],
      ["production", 5, 365 * 86400],
      ["default", 2, 7200],
      ["besteffort", 0, 365 * 86400],
      ["long", 1, 365 * 86400],
    ],
  );
  const bad = (overrides: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => resolveConfig({ env: {}, overrides: { home: "/tmp/x", ...overrides } }),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
  bad({ "queues.default.maxWalltime": -1 }, /queues\.default\.maxWalltime: expected a whole number/);
  bad({ "queues.default.maxWalltime": 1e18 }, /queues\.default\.maxWalltime: expected a whole number up to/);
  bad({ "queues.default.colour": 1 }, /queues\.default\.colour: unknown setting/);
  bad({ "queues.default.besteffort": "yes" }, /queues\.default\.besteffort: expected true or false/);
  bad({ "queues.default": null }, /'default' queue cannot be removed/);
});
