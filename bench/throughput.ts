// bench/throughput: submit N jobs running `true`, time until all are terminated, in jobs/s;
// and, in the same run, a bare loop spawning `true` with the same concurrency, for the ratio.
// Usage: node bench/throughput.ts [jobs=2000] [cores=<detected>] [--db postgres]

import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { machine, runTrueJobs, startServer } from "./lib.ts";

const total = Number(process.argv[2] ?? 2000);
const cores = Number(process.argv[3] ?? availableParallelism());

async function bareLoop(n: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        await new Promise<void>((res, rej) => {
          const p = spawn("/bin/sh", ["-c", "true"], { stdio: "ignore", detached: true });
          p.once("error", rej);
          p.once("exit", () => res());
        });
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

const server = await startServer(`site:\n  cores: ${cores}\n`);
const pool = new Pool(server.url, { connections: 8 });
const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
let gridqRate = 0;
try {
  // Writable by the account jobs run as (the submitter's; the local admin, root, on loopback).
  const work = mkdtempSync(join(tmpdir(), "gridq-throughput-"));
  chmodSync(work, 0o777);
  const { seconds: elapsed, submittedAfter } = await runTrueJobs(pool, headers, total, work);
  gridqRate = total / elapsed;
  const r = await pool.request({ method: "GET", path: "/3.0/sites/local/jobs?state=error&limit=1", headers });
  const errors = ((await r.body.json()) as { total: number }).total;
  console.log(
    `gridq: ${total} jobs (concurrency ${cores}) in ${elapsed.toFixed(2)} s = ${gridqRate.toFixed(0)} jobs/s ` +
      `(all submitted after ${submittedAfter.toFixed(2)} s; ${errors} in error)`,
  );
} finally {
  await pool.close();
  await server.stop();
}
const bare = await bareLoop(total, cores);
console.log(
  `bare loop: ${total} spawns of /bin/sh -c true, concurrency ${cores}: ${bare.toFixed(0)} spawns/s`,
);
console.log(`machine: ${machine()}`);
console.log(
  `throughput: ${gridqRate.toFixed(0)} jobs/s = ${((gridqRate / bare) * 100).toFixed(0)}% of the bare loop (target >= 70%)`,
);
