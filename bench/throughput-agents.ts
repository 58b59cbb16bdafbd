// bench/throughput-agents: jobs/s through N remote agents on loopback (separate `gridq agent`
// processes, WebSocket) against the single embedded agent, same total cores, same jobs.
// Also prints an idle agent's RSS and CPU time. Usage: node bench/throughput-agents.ts [jobs=1000] [agents=4]

import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { machine, ROOT, runTrueJobs, startServer } from "./lib.ts";

const total = Number(process.argv[2] ?? 1000);
const agents = Number(process.argv[3] ?? 4);

async function run(
  config: string,
  withAgents: number,
): Promise<{ rate: number; rssKb?: number; cpuMs?: number }> {
  const server = await startServer(config);
  const pool = new Pool(server.url, { connections: 8 });
  const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
  const procs: ChildProcess[] = [];
  const dirs: string[] = [];
  try {
    for (let i = 1; i <= withAgents; i++) {
      const r = await pool.request({
        method: "POST",
        path: `/3.0/sites/local/agents/n${i}/credential`,
        headers: { authorization: headers.authorization },
      });
      const { token } = (await r.body.json()) as { token?: string };
      if (r.statusCode !== 201 || !token) throw new Error(`node credential: HTTP ${r.statusCode}`);
      const home = mkdtempSync(join(tmpdir(), "gridq-bench-agent-"));
      dirs.push(home);
      writeFileSync(join(home, "token"), token, { mode: 0o600 });
      procs.push(
        spawn(
          process.execPath,
          [
            join(ROOT, "bin/gridq.js"),
            "agent",
            "--server",
            server.url,
            "--node",
            `n${i}`,
            "--token-file",
            join(home, "token"),
          ],
          // Run as root, the bench's admin is root: remote agents run its jobs only with jobs.allowRoot.
          { env: { ...process.env, GRIDQ_HOME: home, GRIDQ_ALLOW_ROOT_JOBS: "1" }, stdio: "ignore" },
        ),
      );
    }
    // Wait for every node to be connected.
    for (;;) {
      const r = await pool.request({ method: "GET", path: "/3.0/sites/local/agents", headers });
      const { items } = (await r.body.json()) as { items: { connected: boolean }[] };
      if (items.every((n) => n.connected)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    let idle: { rssKb: number; cpuMs: number } | undefined;
    if (procs[0]?.pid) {
      // Idle for 3 s: the heartbeats' and samples' cost.
      const stat = () =>
        readFileSync(`/proc/${procs[0]!.pid}/stat`, "utf8")
          .slice(readFileSync(`/proc/${procs[0]!.pid}/stat`, "utf8").lastIndexOf(")") + 2)
          .split(" ");
      const before = stat();
      await new Promise((res) => setTimeout(res, 3000));
      const after = stat();
      const ticks = (f: string[]) => Number(f[11]) + Number(f[12]);
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${procs[0]!.pid}/status`, "utf8"));
      idle = { rssKb: Number(rss?.[1] ?? 0), cpuMs: ((ticks(after) - ticks(before)) * 1000) / 100 / 3 };
    }
    const work = mkdtempSync(join(tmpdir(), "gridq-throughput-"));
    dirs.push(work);
    chmodSync(work, 0o777);
    const { seconds } = await runTrueJobs(pool, headers, total, work);
    const rate = total / seconds;
    return { rate, ...(idle ? { rssKb: idle.rssKb, cpuMs: idle.cpuMs } : {}) };
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await pool.close();
    await server.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const embedded = await run(`site:\n  cores: ${agents}\n`, 0);
console.log(`embedded agent, ${agents} cores: ${total} jobs at ${embedded.rate.toFixed(0)} jobs/s`);
const nodes = Array.from({ length: agents }, (_, i) => `{name: n${i + 1}, cores: 1}`).join(", ");
const remote = await run(`site:\n  nodes: [${nodes}]\n`, agents);
console.log(`${agents} remote agents, 1 core each: ${total} jobs at ${remote.rate.toFixed(0)} jobs/s`);
console.log(
  `idle agent: RSS ${((remote.rssKb ?? 0) / 1024).toFixed(1)} MiB, CPU ${remote.cpuMs?.toFixed(1)} ms/s`,
);
console.log(`machine: ${machine()}`);
console.log(`remote/embedded: ${((remote.rate / embedded.rate) * 100).toFixed(0)}% (target >= 100%)`);
