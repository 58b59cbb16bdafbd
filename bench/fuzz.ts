// Fuzz every operation of docs/openapi.json with hostile values against a real server; counts 5xx and slow answers.
// Run: node bench/fuzz.ts [--per-operation N] [--seconds S] [--seed N]

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { type OpenApiDoc, operationsOf, type Probe, probesOf } from "./fuzz-probes.ts";

export interface Finding {
  operation: string;
  what: string;
  method: string;
  path: string;
  status: number | string;
  ms: number;
  body: string;
}

export interface FuzzReport {
  operations: number;
  requests: number;
  statuses: Record<string, number>;
  /** Answers with a 5xx status. */
  serverErrors: Finding[];
  /** Answers slower than `slowMs` (2 s by default). */
  slow: Finding[];
  /** No answer within `hangMs`, or the connection dropped without one. */
  hangs: Finding[];
  /** 4xx answers whose body is not the documented JSON error ({code, message} or Accelerator's {code, error}). */
  undocumentedErrors: Finding[];
  ms: number;
}

export interface FuzzOptions {
  url: string;
  /** Bearer token of an admin: reaches the most code. */
  token: string;
  doc: OpenApiDoc;
  seed?: number;
  perOperation?: number;
  timeBudgetMs?: number;
  slowMs?: number;
  hangMs?: number;
  concurrency?: number;
  /** Values for path parameters that exist on the server (a job id, a node name...). */
  known?: Record<string, string>;
}

/** Fuzz every operation of `doc`, each with at most `perOperation` probes, within the time budget. */
export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const slowMs = o.slowMs ?? 2000;
  const hangMs = o.hangMs ?? 10_000;
  const ops = operationsOf(o.doc);
  const report: FuzzReport = {
    operations: ops.length,
    requests: 0,
    statuses: {},
    serverErrors: [],
    slow: [],
    hangs: [],
    undocumentedErrors: [],
    ms: 0,
  };
  const pool = new Pool(o.url, {
    connections: o.concurrency ?? 4,
    pipelining: 1,
    connect: { rejectUnauthorized: false },
  });
  const perOp = ops.map((op, i) =>
    probesOf(op, o.token, o.known ?? {}, (o.seed ?? 1) + i)
      .slice(0, o.perOperation ?? 40)
      .map((p): [string, Probe] => [`${op.method} ${op.path}`, p]),
  );
  // Operations interleaved (round robin), so a time budget cut still covers every one of them.
  const queue: [string, Probe][] = [];
  for (let k = 0; perOp.some((l) => k < l.length); k++)
    for (const l of perOp) if (k < l.length) queue.push(l[k]!);
  const worker = async () => {
    while (queue.length && Date.now() - started < (o.timeBudgetMs ?? 60_000)) {
      const [operation, p] = queue.shift()!;
      const t0 = performance.now();
      let status: number | string;
      let body = "";
      try {
        const r = await pool.request({
          method: p.method as "GET",
          path: p.path,
          headers: p.headers,
          body: p.body,
          headersTimeout: hangMs,
          bodyTimeout: hangMs,
        });
        status = r.statusCode;
        body = await r.body.text();
        // An SSE or follow stream would not end by itself: it has answered, that is enough.
      } catch (e) {
        status = (e as { code?: string }).code ?? String(e);
      }
      const ms = Math.round(performance.now() - t0);
      report.requests++;
      const finding: Finding = {
        operation,
        what: p.what,
        method: p.method,
        path: p.path.slice(0, 200),
        status,
        ms,
        body: body.slice(0, 300),
      };
      report.statuses[String(status)] = (report.statuses[String(status)] ?? 0) + 1;
      if (typeof status !== "number") report.hangs.push(finding);
      else if (status >= 500) report.serverErrors.push(finding);
      else if (status >= 400 && !documentedError(body)) report.undocumentedErrors.push(finding);
      if (ms > slowMs) report.slow.push(finding);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  await pool.close();
  report.ms = Date.now() - started;
  return report;
}

function documentedError(body: string): boolean {
  try {
    const b = JSON.parse(body) as Record<string, unknown>;
    return typeof b.code === "string" && (typeof b.message === "string" || typeof b.error === "string");
  } catch {
    return false;
  }
}

/** The configuration a fuzzed server runs with: a declared node no agent serves, so no job ever runs. */
export const FUZZ_CONFIG = "site:\n  nodes:\n    - name: fuzz-node\n      cores: 4\n";

export function summary(r: FuzzReport): string {
  const lines = [
    `fuzz: ${r.operations} operations, ${r.requests} requests in ${(r.ms / 1000).toFixed(1)} s`,
    `  5xx: ${r.serverErrors.length}; hangs or dropped: ${r.hangs.length}; over 2 s: ${r.slow.length}; 4xx without the documented body: ${r.undocumentedErrors.length}`,
    `  statuses: ${Object.entries(r.statuses)
      .sort()
      .map(([s, n]) => `${s}: ${n}`)
      .join(", ")}`,
  ];
  for (const [name, list] of [
    ["5xx", r.serverErrors],
    ["hang", r.hangs],
    ["slow", r.slow],
    ["undocumented", r.undocumentedErrors],
  ] as const) {
    for (const f of list.slice(0, 20))
      lines.push(
        `  ${name}: ${f.operation} [${f.what}] ${f.method} ${f.path.slice(0, 80)} -> ${f.status} (${f.ms} ms) ${f.body.slice(0, 120)}`,
      );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      "per-operation": { type: "string", default: "400" },
      seconds: { type: "string", default: "120" },
      seed: { type: "string", default: "1" },
    },
  });
  const { startServer, ROOT } = await import("./lib.ts");
  const server = await startServer(FUZZ_CONFIG);
  try {
    const job = await fetch(`${server.url}/3.0/sites/local/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ command: "true", hold: true }),
    }).then((x) => x.json() as Promise<{ uid: number }>);
    const doc = JSON.parse(readFileSync(join(ROOT, "docs/openapi.json"), "utf8")) as OpenApiDoc;
    const r = await runFuzz({
      url: server.url,
      token: server.token,
      doc,
      seed: Number(values.seed),
      perOperation: Number(values["per-operation"]),
      known: { id: String(job.uid) },
      timeBudgetMs: Number(values.seconds) * 1000,
    });
    console.log(summary(r));
    const alive = await fetch(`${server.url}/3.0/`)
      .then((x) => x.status)
      .catch((e) => String(e));
    console.log(`  server after the run: ${alive}`);
  } finally {
    await server.stop();
  }
}
