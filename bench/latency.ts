// bench/latency: on an idle node, time from sending a submission to the job's process running,
// p50 and p99. The job writes one byte into a FIFO the benchmark is reading: the clock stops
// when that byte arrives, so /bin/sh's own start-up is included (a conservative figure).
// With `waiting` > 0, that many other jobs wait first (see fillWaiting): the event-driven start
// must not depend on the size of the queue.
// Usage: node bench/latency.ts [samples=200] [waiting=0] [--db postgres]

import { spawnSync } from "node:child_process";
import { chmodSync, createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { fillWaiting, machine, percentile, startServer } from "./lib.ts";

const samples = Number(process.argv[2] ?? 200);
const waiting = Number(process.argv[3] ?? 0);
const dir = mkdtempSync(join(tmpdir(), "gridq-latency-"));
chmodSync(dir, 0o755);
const fifo = join(dir, "started");
spawnSync("mkfifo", ["-m", "0666", fifo]);
const server = await startServer("site:\n  cores: 2\n");
const pool = new Pool(server.url, { connections: 1 });
const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
if (waiting > 0) {
  const t = performance.now();
  await fillWaiting(server, waiting, dir);
  console.log(`${waiting} jobs waiting (filled in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
const body = JSON.stringify({
  command: `printf x > ${fifo}`,
  ...(waiting > 0 ? { resources: "core=1", walltime: 60 } : {}),
  directory: dir,
  stdout: "/dev/null",
  stderr: "/dev/null",
});
const times: number[] = [];
try {
  for (let i = 0; i < samples + 10; i++) {
    const got = new Promise<void>((res, rej) => {
      const s = createReadStream(fifo);
      s.once("data", () => {
        s.destroy();
        res();
      });
      s.once("error", rej);
    });
    const t0 = performance.now();
    const r = await pool.request({ method: "POST", path: "/3.0/sites/local/jobs", headers, body });
    await r.body.dump();
    await got;
    if (i >= 10) times.push(performance.now() - t0); // the first ten warm up
    // Let the job end so the node is idle again for the next sample.
    await new Promise((res) => setTimeout(res, 10));
  }
} finally {
  await pool.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
const p50 = percentile(times, 50);
const p99 = percentile(times, 99);
console.log(`samples: ${times.length}, min ${times[0]!.toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms`);
console.log(`machine: ${machine()}`);
console.log(
  `latency: submit -> process started p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms with ${waiting} jobs waiting (target p50 < 10 ms)`,
);
