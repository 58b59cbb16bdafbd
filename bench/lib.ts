// Shared by the benchmarks: start a real `gridq serve` process, read its token, time things.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");

/**
 * The store the benchmark's server uses: SQLite (default) or PostgreSQL, chosen with
 * `--db postgres` anywhere on the command line (taken out of argv here, before the benchmark
 * reads its own arguments) or GRIDQ_BENCH_DB=postgres. PostgreSQL is a server of our own
 * (test/helpers/postgres-server.ts) with durable commits, unless GRIDQ_BENCH_PG_URL names one;
 * GRIDQ_BENCH_PG_SETTINGS adds settings to ours (e.g. "synchronous_commit=off").
 */
export const benchDb: "sqlite" | "postgres" = (() => {
  const i = process.argv.indexOf("--db");
  const named = i >= 0 ? process.argv.splice(i, 2)[1] : process.env.GRIDQ_BENCH_DB;
  if (named === undefined || named === "sqlite") return "sqlite";
  if (named === "postgres") return "postgres";
  throw new Error(`--db ${named}: expected sqlite or postgres`);
})();

/** A fresh PostgreSQL database for one benchmark server, and how to get rid of it. */
async function benchPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const { createDatabase, startPostgres } = await import("../test/helpers/postgres-server.ts");
  const given = process.env.GRIDQ_BENCH_PG_URL;
  const settings = (process.env.GRIDQ_BENCH_PG_SETTINGS ?? "").split(/\s+/).filter(Boolean);
  const server = given ? null : await startPostgres({ durable: true, settings });
  const db = await createDatabase(given ?? server!.url, "gridq_bench");
  console.error(
    `# store: postgres, ${given ? "given server" : `own server pid ${server!.pid}, durable commits ${settings.join(" ")}`}`,
  );
  return {
    url: db.url,
    async drop() {
      await db.drop();
      await server?.stop();
    },
  };
}

export interface BenchServer {
  url: string;
  token: string;
  home: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startServer(config = ""): Promise<BenchServer> {
  const home = mkdtempSync(join(tmpdir(), "gridq-bench-"));
  writeFileSync(join(home, "config.yaml"), config);
  const pg = benchDb === "postgres" ? await benchPostgres() : null;
  const proc = spawn(process.execPath, [join(ROOT, "bin/gridq.js"), "serve", "--port", "0"], {
    env: {
      ...process.env,
      GRIDQ_HOME: home,
      GRIDQ_LOG_LEVEL: "warn",
      ...(pg ? { GRIDQ_DB_URL: pg.url } : {}),
    },
    stdio: ["ignore", "inherit", "pipe"],
  });
  const url = await new Promise<string>((res, rej) => {
    let log = "";
    proc.stderr!.on("data", (d: Buffer) => {
      log += d;
      const m = /gridq: serving (\S+)/.exec(log);
      if (m) res(m[1]!);
    });
    proc.on("exit", (c) => rej(new Error(`server exited ${c}: ${log}`)));
  });
  proc.removeAllListeners("exit");
  const token = JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token as string;
  return {
    url,
    token,
    home,
    proc,
    stop: async () => {
      // Jobs outlive their server by design: end the benchmark's own first (no process left).
      await stopRunningJobs(url, token, home);
      await new Promise<void>((res) => {
        proc.once("exit", () => {
          if (!process.env.GRIDQ_KEEP_BENCH) rmSync(home, { recursive: true, force: true });
          res();
        });
        proc.kill("SIGTERM");
      });
      await pg?.drop();
    },
  };
}

async function stopRunningJobs(url: string, token: string, home: string): Promise<void> {
  const { Agent, fetch } = await import("undici");
  // A self-signed server is trusted through its own certificate, as its clients do.
  const caFile = join(home, "tls", "self-signed.crt");
  const ca = url.startsWith("https") && existsSync(caFile) ? readFileSync(caFile, "utf8") : undefined;
  const dispatcher = new Agent(ca ? { connect: { ca } } : {});
  const headers = { authorization: `Bearer ${token}` };
  const list = async () =>
    (
      (await (
        await fetch(`${url}/3.0/sites/local/jobs?state=launching,running&limit=500`, { headers, dispatcher })
      ).json()) as { items: { uid: number }[] }
    ).items;
  for (const j of await list()) {
    await fetch(`${url}/3.0/sites/local/jobs/${j.uid}`, { method: "DELETE", headers, dispatcher });
  }
  for (let i = 0; i < 100 && (await list()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  await dispatcher.close();
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function machine(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model ?? "cpu"}, node ${process.version}`;
}

/**
 * Fill a server with `n` waiting jobs that cannot start now: one `sleep` holds one of the
 * node's two cores for an hour and each job asks for both (`core=2`). A 1-core job with a
 * short walltime then starts at once in the hole left before them (nobody is delayed).
 */
export async function fillWaiting(server: BenchServer, n: number, directory: string): Promise<void> {
  const { Pool } = await import("undici");
  const pool = new Pool(server.url, { connections: 8 });
  const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
  const post = async (job: object) => {
    const r = await pool.request({
      method: "POST",
      path: "/3.0/sites/local/jobs",
      headers,
      body: JSON.stringify(job),
    });
    await r.body.dump();
    if (r.statusCode !== 201) throw new Error(`submission refused: ${r.statusCode}`);
  };
  const common = { directory, stdout: "/dev/null", stderr: "/dev/null" };
  await post({ ...common, command: "sleep 7200", resources: "core=1", walltime: 7200 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        next++;
        await post({ ...common, command: "true", resources: "core=2", walltime: 3600 });
      }
    }),
  );
  await pool.close();
}

/**
 * Submit `total` jobs running `true` (8 clients, keep-alive), then wait until all have ended.
 * Returns the seconds from the first submission to the last end, and to the last submission.
 */
export async function runTrueJobs(
  pool: import("undici").Pool,
  headers: Record<string, string>,
  total: number,
  directory: string,
): Promise<{ seconds: number; submittedAfter: number }> {
  const body = JSON.stringify({ command: "true", resources: "core=1", directory });
  const t0 = performance.now();
  let submitted = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (submitted < total) {
        submitted++;
        const r = await pool.request({ method: "POST", path: "/3.0/sites/local/jobs", headers, body });
        await r.body.dump();
        if (r.statusCode !== 201) throw new Error(`submit: HTTP ${r.statusCode}`);
      }
    }),
  );
  const submittedAfter = (performance.now() - t0) / 1000;
  for (;;) {
    const r = await pool.request({
      method: "GET",
      path: "/3.0/sites/local/jobs?state=terminated,error&limit=1",
      headers,
    });
    if (((await r.body.json()) as { total: number }).total >= total) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  return { seconds: (performance.now() - t0) / 1000, submittedAfter };
}
