// A bounded fuzz run (bench/fuzz.ts) over every operation of docs/openapi.json against a real
// server: any 5xx, or a request left without an answer, fails the test.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FUZZ_CONFIG, runFuzz, summary } from "../../bench/fuzz.ts";
import type { OpenApiDoc } from "../../bench/fuzz-probes.ts";
import { type GridqServer, ROOT, startGridq } from "../helpers/gridq-process.ts";

let gq: GridqServer;
let token: string;
let jobId: number;

before(async () => {
  // A declared node that no agent serves: jobs the fuzz submits wait, none ever runs.
  gq = await startGridq({ config: FUZZ_CONFIG });
  token = JSON.parse(readFileSync(join(gq.home, "credentials.json"), "utf8")).token;
  const r = await fetch(`${gq.url}/3.0/sites/local/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ command: "true", hold: true }),
  });
  assert.equal(r.status, 201);
  jobId = ((await r.json()) as { uid: number }).uid;
});
after(async () => {
  await gq?.stop();
});

test("hostile values on every documented operation: no 5xx, no request left unanswered", async (t) => {
  const doc = JSON.parse(readFileSync(join(ROOT, "docs/openapi.json"), "utf8")) as OpenApiDoc;
  const report = await runFuzz({
    url: gq.url,
    token,
    doc,
    seed: 10,
    perOperation: 40,
    timeBudgetMs: 35_000,
    // One at a time: the answer to each probe depends on it alone (the benchmark runs 4 at once).
    concurrency: 1,
    hangMs: 10_000,
    known: { id: String(jobId) },
  });
  t.diagnostic(summary(report));
  assert.equal(report.operations, Object.values(doc.paths).flatMap((m) => Object.keys(m)).length);
  assert.ok(report.requests >= report.operations * 10, `only ${report.requests} requests were sent`);
  assert.deepEqual(report.serverErrors, [], "5xx answers");
  assert.deepEqual(report.hangs, [], "requests without an answer");
  const alive = await fetch(`${gq.url}/3.0/`);
  assert.equal(alive.status, 200, "the server still answers");
});
