// bench/submit: REST submissions per second with keep-alive at 1, 8 and 32 concurrent clients.
// Every acknowledged submission is durable (committed to SQLite's WAL, or PostgreSQL's) before its 201.
// Jobs are submitted on hold, so the machine measures submission, not process creation.
// With `waiting` > 0, that many jobs wait first (see fillWaiting), each new one triggering
// planning passes over all of them: the rate must not fall more than 20%.
// Usage: node bench/submit.ts [seconds-per-level] [waiting=0] [--db postgres]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { fillWaiting, machine, startServer } from "./lib.ts";

const seconds = Number(process.argv[2] ?? 5);
const waiting = Number(process.argv[3] ?? 0);
const server = await startServer("site:\n  cores: 2\n");
const dir = mkdtempSync(join(tmpdir(), "gridq-submit-"));
if (waiting > 0) {
  const t = performance.now();
  await fillWaiting(server, waiting, dir);
  console.log(`${waiting} jobs waiting (filled in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
const body = JSON.stringify({ command: "true", hold: true });
const results: Record<number, number> = {};
try {
  for (const clients of [1, 8, 32]) {
    const pool = new Pool(server.url, { connections: clients, pipelining: 1, keepAliveTimeout: 60_000 });
    const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
    // Warm up the connections and the server's code paths.
    await Promise.all(
      Array.from({ length: clients }, () =>
        pool
          .request({ method: "POST", path: "/3.0/sites/local/jobs", headers, body })
          .then((r) => r.body.dump()),
      ),
    );
    let done = 0;
    let failed = 0;
    const end = performance.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < end) {
          const r = await pool.request({ method: "POST", path: "/3.0/sites/local/jobs", headers, body });
          await r.body.dump();
          if (r.statusCode === 201) done++;
          else failed++;
        }
      }),
    );
    const rate = done / ((performance.now() - t0) / 1000);
    results[clients] = rate;
    console.log(`clients=${clients}: ${Math.round(rate)} submissions/s (${done} ok, ${failed} failed)`);
    await pool.close();
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`machine: ${machine()}`);
console.log(
  `submit: ${Math.round(results[8]!)} submissions/s at 8 clients with ${waiting} jobs waiting (target >= 5000)`,
);
