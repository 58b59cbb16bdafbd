// Test helper: a real `gridq serve` process on a free port with its own data folder, and the
// real CLI run as child processes against it. Every process started here is stopped after.

import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after } from "node:test";

export const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "bin/gridq.js");
const live = new Set<ChildProcess>();
const dirs: string[] = [];

// Registered once at load, at the file's top level: kill what is left, remove temp folders
// (kept when GRIDQ_KEEP_TEST_DATA is set, for inspection).
after(async () => {
  // SIGTERM first so servers clean up after themselves; SIGKILL whatever is still there.
  const exits = [...live].map((p) => new Promise((r) => p.once("exit", r)));
  for (const p of live) p.kill("SIGTERM");
  await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 3000))]);
  for (const p of live) p.kill("SIGKILL");
  if (!process.env.GRIDQ_KEEP_TEST_DATA) for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface GridqServer {
  url: string;
  home: string;
  password: string;
  proc: ChildProcess;
  env: NodeJS.ProcessEnv;
  cli(args: string[], o?: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Stop with a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same data folder (a new port). */
  restart(): Promise<GridqServer>;
}

export function tempDir(prefix = "gridq-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  o: { input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env,
      cwd: o.cwd ?? ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.add(p);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", rej);
    p.on("close", (code) => {
      live.delete(p);
      res({ code, stdout, stderr });
    });
    p.stdin.end(o.input ?? "");
  });
}

export async function startGridq(
  o: { config?: string; home?: string; env?: NodeJS.ProcessEnv; port?: number } = {},
): Promise<GridqServer> {
  const home = o.home ?? tempDir();
  if (o.config !== undefined) writeFileSync(join(home, "config.yaml"), o.config);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GRIDQ_HOME: home,
    GRIDQ_LOG_LEVEL: process.env.GRIDQ_TEST_LOG_LEVEL ?? "warn",
    ...o.env,
  };
  delete env.GRIDQ_URL;
  delete env.GRIDQ_TOKEN;
  delete env.GRIDQ_CREDENTIALS;
  const proc = spawn(process.execPath, [CLI, "serve", "--port", String(o.port ?? 0)], {
    env,
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  let log = "";
  const { url, password } = await new Promise<{ url: string; password: string }>((res, rej) => {
    let password = "";
    const timer = setTimeout(() => rej(new Error(`gridq serve did not start in 60 s:\n${log}`)), 60_000);
    proc.stderr!.on("data", (d: Buffer) => {
      log += d;
      const pw = /password \(shown once\): (\S+)/.exec(log);
      if (pw) password = pw[1]!;
      const m = /gridq: serving (\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        res({ url: m[1]!, password });
      }
    });
    proc.stdout!.on("data", (d: Buffer) => {
      log += d;
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`gridq serve exited (${code}) before serving:\n${log}`));
    });
  });
  proc.removeAllListeners("exit");
  // Everything the server prints goes on into server.log in its data folder, for inspection.
  proc.stderr!.removeAllListeners("data");
  proc.stdout!.removeAllListeners("data");
  const logFile = join(home, "server.log");
  writeFileSync(logFile, log);
  proc.stderr!.on("data", (d: Buffer) => appendFileSync(logFile, d));
  proc.stdout!.on("data", (d: Buffer) => appendFileSync(logFile, d));
  const server: GridqServer = {
    url,
    home,
    password,
    proc,
    env: { ...env, GRIDQ_URL: url },
    cli: (args, c = {}) => runCli(args, { ...server.env, ...c.env }, c),
    stop: (signal = "SIGTERM") =>
      new Promise<void>((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return res();
        proc.once("exit", () => {
          live.delete(proc);
          res();
        });
        proc.kill(signal);
      }),
    restart: async () => {
      await server.stop();
      return startGridq({ home, ...(o.env ? { env: o.env } : {}), ...(o.port ? { port: o.port } : {}) });
    },
  };
  return server;
}

/** Track a process this test started: it is stopped after the file's tests. */
export function track(p: ChildProcess): void {
  live.add(p);
  p.once("exit", () => live.delete(p));
}

export { freePort } from "./free-port.ts";

/** Poll until `check` returns a value, or fail after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  ms = 10_000,
  what = "condition",
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
