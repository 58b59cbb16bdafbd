// Test helper: real `gridq agent` processes on loopback, each a node of a server's site, with
// their own state folders. Every process started here is stopped after the tests.

import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type GridqServer, ROOT, tempDir, track } from "./gridq-process.ts";

export interface AgentProcess {
  node: string;
  stateDir: string;
  proc: ChildProcess;
  log(): string;
  /** Stop with a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Issue the node's credential through the CLI (as the admin) and write it to a 0600 file. */
export async function nodeTokenFile(server: GridqServer, node: string): Promise<string> {
  const r = await server.cli(["node", "token", node, "--json"]);
  if (r.code !== 0) throw new Error(`gridq node token ${node}: ${r.stderr}`);
  const file = join(tempDir("gridq-token-"), "token");
  writeFileSync(file, JSON.parse(r.stdout).token, { mode: 0o600 });
  return file;
}

export function startAgent(
  serverUrl: string,
  node: string,
  o: { tokenFile: string; stateDir?: string; env?: NodeJS.ProcessEnv; ca?: string },
): AgentProcess {
  const stateDir = o.stateDir ?? join(tempDir("gridq-agent-"), "state");
  const env: NodeJS.ProcessEnv = { ...process.env, GRIDQ_HOME: tempDir("gridq-agent-home-"), ...o.env };
  delete env.GRIDQ_NODE_TOKEN;
  const proc = spawn(
    process.execPath,
    [
      join(ROOT, "bin/gridq.js"),
      "agent",
      "--server",
      serverUrl,
      "--node",
      node,
      "--token-file",
      o.tokenFile,
      "--state-dir",
      stateDir,
      ...(o.ca ? ["--ca", o.ca] : []),
    ],
    { env, cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
  );
  track(proc);
  let log = "";
  proc.stderr!.on("data", (d: Buffer) => {
    log += d;
  });
  return {
    node,
    stateDir,
    proc,
    log: () => log,
    stop: (signal = "SIGTERM") =>
      new Promise<void>((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return res();
        proc.once("exit", () => res());
        proc.kill(signal);
      }),
  };
}
