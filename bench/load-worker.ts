// A keep-alive GET load generator run in a worker thread, so that client and server share the
// machine's cores: `runLoad(job)` starts it and resolves with what it counted.

import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Pool } from "undici";

export interface LoadJob {
  origin: string;
  path: string;
  headers: Record<string, string>;
  seconds: number;
  connections: number;
  /** The status that counts as a success (default 200). */
  expect?: number;
  /** PEM of the CA to trust (HTTPS with a certificate of the test's own). */
  ca?: string | null;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  errors: number;
}

async function load(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.origin, {
    connections: job.connections,
    pipelining: 1,
    ...(job.ca ? { connect: { ca: job.ca } } : {}),
  });
  const expect = job.expect ?? 200;
  let requests = 0;
  let errors = 0;
  const start = performance.now();
  const stop = start + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (performance.now() < stop) {
        const r = await pool.request({ path: job.path, method: "GET", headers: job.headers });
        await r.body.dump();
        if (r.statusCode === expect) requests++;
        else errors++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  return { requests, seconds, errors };
}

export function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((ok, fail) => {
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    w.once("message", ok);
    w.once("error", fail);
  });
}

if (!isMainThread && (workerData as { path?: unknown } | null)?.path !== undefined) {
  parentPort!.postMessage(await load(workerData as LoadJob));
}
