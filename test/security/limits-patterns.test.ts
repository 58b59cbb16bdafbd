// Hostile patterns (issue 10, hole 6): a catastrophic regular expression in a selection rule, a
// polynomial LIKE or glob, and RE2-refused syntax answer promptly, and never stall another client.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Worker } from "node:worker_threads";
import { type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { adminClient, within } from "./limits-client.ts";

const HANG = 15_000;
let gq: GridqServer;
let api: ReturnType<typeof adminClient>;
const query = (where: string) =>
  api(`/api/v3/query?${new URLSearchParams({ select: "id", where }).toString()}`);

before(async () => {
  gq = await startGridq();
  api = adminClient(gq);
  // A held job never runs: its command is only text for the patterns to chew on.
  for (const command of [`${"a".repeat(40)}!`, `${"x".repeat(60)}`]) {
    const r = await api("/3.0/sites/local/jobs", { json: { command, hold: true } });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await gq?.stop();
});

test("a catastrophic regular expression answers at once and does not delay another client", async () => {
  // Backtracking `^(a+)+$` over forty `a` and a `!` takes hours; RE2 takes microseconds.
  const hostile = query('command~"^(a+)+$"');
  // Another client's request, sent while the hostile one is in the server: it must be answered,
  // which it could not be while the event loop ran the hostile match.
  const other = await within(api("/3.0/sites/local/jobs"), HANG, "a concurrent job list");
  assert.equal(other.status, 200, other.text);
  const h = await within(hostile, HANG, "the hostile query");
  assert.equal(h.status, 200, h.text);
  assert.deepEqual(h.body.rows, []);
  // The same semantics as before for ordinary patterns.
  const ok = await within(query('command~"^a+!$"'), HANG, "an ordinary regex");
  assert.equal((ok.body.rows as unknown[]).length, 1, ok.text);
  const globbed = await within(query(`command:"${"*x".repeat(30)}*y"`), HANG, "a polynomial glob");
  assert.equal(globbed.status, 200, globbed.text);
  assert.deepEqual(globbed.body.rows, []);
});

test("syntax RE2 refuses is a 400 naming the position in the rule", async () => {
  for (const [where, position, why] of [
    ['command~"(?=a)b"', 10, /invalid regular expression \(RE2 syntax\).*\(\?=/],
    ['command~"(a)\\\\1"', 13, /invalid escape sequence/],
    ['user==x & command~"a{2000}"', 21, /invalid repeat count/],
    ['command~"[\\s\\S]{900}[\\s\\S]{900}"', 10, /too complex/],
    ['command:"[z-a]"', 11, /invalid glob/],
  ] as const) {
    const r = await within(query(where), HANG, where);
    assert.equal(r.status, 400, `${where}: ${r.text}`);
    assert.equal(r.body.code, "GRIDQ_INVALID_SELECTION_RULE", r.text);
    assert.match(String(r.body.error), why, where);
    assert.match(String(r.body.error), new RegExp(`at position ${position}$`), where);
  }
});

test("a properties filter's LIKE runs in linear time, and a too complex one is a 400", async () => {
  // `%a%a...%b` against a long value is polynomial for a backtracking engine (C(80,25) steps).
  // It runs in a worker so that a hang is caught by the bound, not by the test runner's timeout.
  const module = new URL("../../src/domain/properties-eval.ts", import.meta.url).href;
  const code = `import(${JSON.stringify(module)}).then(({ nodeFilter }) => {
    const f = nodeFilter("model like '${"%a".repeat(25)}%b'");
    process.stdout.write(String(f({ model: "a".repeat(80) })));
  });`;
  const w = new Worker(code, { eval: true, stdout: true });
  let out = "";
  w.stdout.on("data", (d) => (out += d));
  try {
    await within(new Promise((res, rej) => w.once("exit", res).once("error", rej)), HANG, "LIKE");
  } finally {
    await w.terminate();
  }
  assert.equal(out, "false");
  const r = await api("/3.0/sites/local/jobs", {
    json: { command: "true", hold: true, properties: `cluster like '${"_".repeat(1200)}'` },
  });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.code, "GRIDQ_INVALID_PROPERTIES");
  assert.match(String(r.body.message), /invalid 'like' pattern: pattern too complex/);
});
