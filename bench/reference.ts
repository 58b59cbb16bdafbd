// Benchmark of the reference API on the 3-site history, each figure next to plain `git` doing the same read.
// Run: node bench/reference.ts [--seconds 5] [--connections 8]   (prints figures; never part of the test run)

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Fastify from "fastify";
import { referenceRoutes } from "../src/server/routes/reference.ts";
import { runLoad } from "./load-worker.ts";

const NODE_PATH = "sites/grenoble/clusters/dahu/nodes/dahu-1";
const NODE_2012 = "sites/grenoble/clusters/genepi/nodes/genepi-1";

await main();

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

function timeGit(dir: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    execFileSync("git", ["-C", dir, ...args], { stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 });
    times.push(performance.now() - t);
  }
  return pct(times, 50);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 5;
  const bundle = resolve(import.meta.dirname, "../../shared/refdata/g5k-reference-3sites.bundle");
  const root = mkdtempSync(join(tmpdir(), "gridq-bench-"));
  const dir = join(root, "ref");
  execFileSync("git", ["clone", "--quiet", "-b", "main", bundle, dir]);
  const git = (...a: string[]) => execFileSync("git", ["-C", dir, ...a], { encoding: "utf8" }).trim();
  const c2012 = git("rev-list", "-1", "--first-parent", "--before=2012-06-01T00:00:00Z", "main");
  const file = (p: string) => `data/grid5000/${p}.json`;

  const serverTimes: number[] = [];
  const app = Fastify({ logger: false });
  app.addHook("onResponse", async (_req, reply) => {
    serverTimes.push(reply.elapsedTime);
  });
  let t = performance.now();
  await app.register(referenceRoutes, { repo: dir });
  await app.ready();
  const startup = performance.now() - t;
  const origin = await app.listen({ port: 0, host: "127.0.0.1" });
  const rows: [string, string, string, string][] = [];
  const row = (what: string, ours: string, target: string, plain: string) =>
    rows.push([what, ours, target, plain]);
  const inject = async (url: string, headers: Record<string, string> = {}) => {
    const t0 = performance.now();
    const r = await app.inject({ url, headers });
    if (r.statusCode >= 400) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return { ms: performance.now() - t0, r };
  };
  row("startup (open + warm: history, shared trees)", `${startup.toFixed(0)} ms`, "-", "-");

  // Why: one request through every layer first, so "cold" measures data caches, not V8 compiling our code.
  await inject("/3.0/sites/lyon");
  // 2012 node, cold then warm (first request for that commit and node in this process).
  const u2012 = `/3.0/${NODE_2012}?version=${c2012}`;
  const cold2012 = (await inject(u2012)).ms;
  const warm2012: number[] = [];
  for (let i = 0; i < 200; i++) warm2012.push((await inject(u2012)).ms);
  const git2012 = timeGit(dir, ["cat-file", "-p", `${c2012}:${file(NODE_2012)}`], 20);
  row(
    "GET node at a 2012 commit, cold",
    `${cold2012.toFixed(2)} ms`,
    "< 20 ms",
    `git cat-file -p: ${git2012.toFixed(2)} ms`,
  );
  row("GET node at a 2012 commit, warm p50", `${pct(warm2012, 50).toFixed(3)} ms`, "< 1 ms", "(same)");

  // /versions of a node over the whole history, cold (first time for that path).
  const coldVersions = (await inject(`/3.0/${NODE_PATH}/versions`)).ms;
  const warmVersions = (await inject(`/3.0/${NODE_PATH}/versions`)).ms;
  const gitLog = timeGit(dir, ["log", "--format=%H", "--", file(NODE_PATH)], 5);
  const versionsTotal = (await inject(`/3.0/${NODE_PATH}/versions`)).r.json().total;
  row(
    `/versions of a node (${versionsTotal} versions / 1742 commits), cold`,
    `${coldVersions.toFixed(1)} ms (warm ${warmVersions.toFixed(2)} ms)`,
    "< 100 ms",
    `git log -- path: ${gitLog.toFixed(1)} ms`,
  );

  // Head node: server-side p50 and throughput with keep-alive.
  const connections = Number(process.argv[process.argv.indexOf("--connections") + 1]) || 8;
  serverTimes.length = 0;
  const headLoad = await runLoad({
    origin,
    path: `/3.0/${NODE_PATH}`,
    headers: {},
    seconds,
    connections,
    expect: 200,
  });
  const headP50 = pct(serverTimes, 50);
  const headP99 = pct(serverTimes, 99);
  const gitHead = timeGit(dir, ["cat-file", "-p", `main:${file(NODE_PATH)}`], 20);
  row(
    "GET node at head, server-side p50 / p99",
    `${headP50.toFixed(3)} / ${headP99.toFixed(3)} ms`,
    "p50 < 1 ms",
    `git cat-file -p: ${gitHead.toFixed(2)} ms`,
  );
  row(
    `GET node at head, keep-alive, ${connections} connections`,
    `${Math.round(headLoad.requests / headLoad.seconds)} req/s (${headLoad.errors} errors)`,
    ">= 5,000 req/s",
    `git cat-file -p: ${Math.round(1000 / gitHead)} reads/s`,
  );

  // 304 revalidation.
  const etag = String((await inject(`/3.0/${NODE_PATH}`)).r.headers.etag);
  serverTimes.length = 0;
  const revalidate = await runLoad({
    origin,
    path: `/3.0/${NODE_PATH}`,
    headers: { "if-none-match": etag },
    seconds,
    connections,
    expect: 304,
  });
  const gitRevParse = timeGit(dir, ["rev-parse", `main:${file(NODE_PATH)}`], 20);
  row(
    "304 revalidation (If-None-Match), keep-alive",
    `${Math.round(revalidate.requests / revalidate.seconds)} req/s (${revalidate.errors} errors), server p50 ${pct(serverTimes, 50).toFixed(3)} ms`,
    ">= 8,000 req/s",
    `git rev-parse main:path: ${Math.round(1000 / gitRevParse)} checks/s`,
  );

  await app.close();

  // Fully cold: a fresh reader without the startup warm-up (loads the commit history on the way).
  const coldApp = Fastify({ logger: false });
  await coldApp.register(referenceRoutes, { repo: dir, warm: false });
  await coldApp.ready();
  t = performance.now();
  const fully = await coldApp.inject({ url: `/3.0/${NODE_PATH}/versions` });
  const fullyMs = performance.now() - t;
  if (fully.statusCode !== 200) throw new Error(`versions: ${fully.statusCode}`);
  await coldApp.close();
  row(
    "/versions of a node, fully cold (no warm-up, new reader)",
    `${fullyMs.toFixed(1)} ms`,
    "-",
    `git log -- path: ${gitLog.toFixed(1)} ms`,
  );

  rmSync(root, { recursive: true, force: true });

  console.log(
    `# reference benchmark, ${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(`# node: ${NODE_PATH}; 2012 node: ${NODE_2012} at ${c2012}; load ${seconds}s per run\n`);
  console.log("| what | gridq | target | plain git, same read |");
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}
