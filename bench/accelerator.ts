// Benchmark of Accelerator REST v3: keep-alive GET /api/v3/jobs/{id} over HTTP and HTTPS, and the cost of a token.
// Run: node bench/accelerator.ts [--seconds 5] [--connections 8]   (prints figures; never part of the test run)

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { type BenchServer, machine, percentile, startServer } from "./lib.ts";
import { type LoadResult, runLoad } from "./load-worker.ts";

await main();

/** A user with a known password, a running job, and the v3 token for that user. */
async function prepare(server: BenchServer, ca: string | null) {
  const pool = new Pool(server.url, ca ? { connect: { ca } } : {});
  const call = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const r = await pool.request({ method, path, headers, ...(body !== undefined ? { body } : {}) });
    const text = await r.body.text();
    if (r.statusCode >= 300) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const admin = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
  await call("POST", "/3.0/users", admin, JSON.stringify({ name: "user99", password: "bench-password-1" }));
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const tokenBody = "username=user99&password=bench-password-1";
  const t = await call("POST", "/api/v3/token", form, tokenBody);
  const auth = { authorization: `${t.token_type}:${t.access_token}` };
  const sub = await call(
    "POST",
    "/api/v3/jobs",
    { ...auth, "content-type": "application/json" },
    '{"command":"true"}',
  );
  const id = ((sub.rows as unknown[][])[0] as [string, number])[1];

  // The token endpoint: one scrypt check per request, by design (clients keep their token).
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await call("POST", "/api/v3/token", form, tokenBody);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 20 }, () => call("POST", "/api/v3/token", form, tokenBody)));
  const parallel = 20 / ((performance.now() - t1) / 1000);
  await pool.close();
  return { auth, id, token: { p50: percentile(times, 50), p99: percentile(times, 99), parallel } };
}

async function level(name: string, config: string, seconds: number, connections: number): Promise<string[]> {
  const server = await startServer(config);
  try {
    const caFile = server.url.startsWith("https") ? join(server.home, "tls", "self-signed.crt") : null;
    const ca = caFile ? readFileSync(caFile, "utf8") : null;
    const { auth, id, token } = await prepare(server, ca);
    const job = { origin: server.url, headers: auth, seconds, connections, ca };
    await runLoad({ ...job, path: `/api/v3/jobs/${id}`, seconds: 1 }); // warm-up
    const all = await runLoad({ ...job, path: `/api/v3/jobs/${id}` });
    const one = await runLoad({ ...job, path: `/api/v3/jobs/${id}/STATUSNC` });
    const rate = (r: LoadResult) => `${Math.round(r.requests / r.seconds)} req/s (${r.errors} errors)`;
    return [
      `| ${name}: GET /api/v3/jobs/{id}, all fields, keep-alive, ${connections} connections | ${rate(all)} |`,
      `| ${name}: GET /api/v3/jobs/{id}/STATUSNC, keep-alive | ${rate(one)} |`,
      `| ${name}: POST /api/v3/token, one at a time, p50 / p99 | ${token.p50.toFixed(1)} / ${token.p99.toFixed(1)} ms |`,
      `| ${name}: POST /api/v3/token, 20 at once | ${token.parallel.toFixed(1)} tokens/s |`,
    ];
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const arg = (name: string, d: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const seconds = arg("--seconds", 5);
  const connections = arg("--connections", 8);
  console.log(`# ${machine()}, ${new Date().toISOString()}, load average ${loadavg()[0]!.toFixed(2)}`);
  console.log("| what | figure |");
  console.log("| --- | --- |");
  // No cache of verified passwords: every token request pays the full scrypt check.
  const noCache = "auth:\n  basicCacheTtl: 0\n";
  for (const line of await level("HTTP", noCache, seconds, connections)) console.log(line);
  for (const line of await level(
    "HTTPS (self-signed)",
    `${noCache}tls: self-signed\n`,
    seconds,
    connections,
  )) {
    console.log(line);
  }
  console.log(`# load average after: ${loadavg()[0]!.toFixed(2)}`);
}
