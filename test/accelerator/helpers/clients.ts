// Real clients for the Accelerator tests: python3 + requests (nc_info.py, getToken.py), curl, and fetch with a CA.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after } from "node:test";
import { Agent, fetch } from "undici";
import { ROOT } from "../../helpers/gridq-process.ts";

export const EXAMPLES = join(ROOT, "examples");
const live = new Set<ChildProcess>();
after(() => {
  for (const p of live) p.kill("SIGKILL");
});

/**
 * A python3 that imports `requests`: the one on PATH when it can; otherwise Debian's, after
 * installing python3-requests with apt-get (a PATH python3 such as pyenv's does not see Debian's
 * packages, so the Debian interpreter is used then).
 */
export function ensurePythonRequests(): string {
  const can = (python: string) => {
    try {
      execFileSync(python, ["-c", "import requests"], { stdio: "pipe" });
      return true;
    } catch {
      return false;
    }
  };
  if (can("python3")) return "python3";
  if (!can("/usr/bin/python3")) {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "pipe", timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "-qq", "python3-requests"], {
      stdio: "pipe",
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  if (!can("/usr/bin/python3"))
    throw new Error("no python3 can import requests, even after apt-get install python3-requests");
  return "/usr/bin/python3";
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program with its own session (no controlling terminal: getpass reads stdin), feeding `input`. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: EXAMPLES, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    live.add(p);
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(timer);
      live.delete(p);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input);
  });
}

/** A clean environment for the example clients: no proxy, no inherited CA bundle. */
export function clientEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: "C.UTF-8",
    ...extra,
  };
  return env;
}

export interface Http {
  status: number;
  text: string;
  json: () => Record<string, unknown>;
  headers: Headers;
}

/** One request on a fresh connection (so connection counts stay predictable), trusting `ca` when given. */
export async function http(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {},
): Promise<Http> {
  const dispatcher = new Agent({ connect: o.ca ? { ca: readFileSync(o.ca) } : {} });
  try {
    const r = await fetch(url, {
      method: o.method ?? "GET",
      headers: o.headers ?? {},
      ...(o.body !== undefined ? { body: o.body } : {}),
      dispatcher,
    });
    const text = await r.text();
    return { status: r.status, text, headers: r.headers as unknown as Headers, json: () => JSON.parse(text) };
  } finally {
    await dispatcher.close();
  }
}

/** The value of one field of an envelope's first row. */
export function field(env: Record<string, unknown>, name: string): unknown {
  const cols = env.columns as { col: number; field: string }[];
  const c = cols.find((x) => x.field === name);
  if (!c) throw new Error(`no column ${name} in ${JSON.stringify(env).slice(0, 300)}`);
  return (env.rows as unknown[][])[0]![c.col];
}

/** The block nc_info.py prints for one running job, as in the seed (values vary). */
export function ncInfoPattern(id: number, user: string, command: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    [
      `Job {13}${String(id).padStart(9, "0")}`,
      `User,Group {6}${esc(user)},/time/users\\.${esc(user)}`,
      `Command {9}${esc(command)}`,
      "Status {10}Running",
      " {3}Host {9}\\S+",
      " {3}Duration {5}\\d+s",
      "",
    ].join("\n"),
  );
}
