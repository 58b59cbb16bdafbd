// Hostile numbers and types (issue 10, hole 7): overflowing offsets, ids and walltimes, and
// walltimes of the wrong type, in both dialects, are 400s naming the field; never a 500 or a job.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { adminClient } from "./limits-client.ts";

let gq: GridqServer;
let api: ReturnType<typeof adminClient>;
const YEAR = 365 * 86400;

before(async () => {
  gq = await startGridq({ config: "queues:\n  production:\n    maxWalltime: 7200\n" });
  api = adminClient(gq);
});
after(async () => {
  await gq?.stop();
});

const isBadRequest = (r: { status: number; text: string }, field: RegExp, what: string) => {
  assert.equal(r.status, 400, `${what}: ${r.text}`);
  assert.match(r.text, field, what);
};

test("offsets, limits and ids beyond any exact integer are 400s naming the parameter", async () => {
  const huge = "9223372036854775808";
  for (const [path, field] of [
    [`/3.0/sites/local/jobs?offset=${huge}`, /offset/],
    ["/3.0/sites/local/jobs?offset=1e400", /offset/],
    ["/3.0/sites/local/jobs?offset=Infinity", /offset/],
    ["/3.0/sites/local/jobs/Infinity", /id/],
    ["/3.0/sites/local/jobs/1e400/walltime", /id/],
    ["/3.0/sites/local/jobs?offset=-1", /offset/],
    [`/3.0/sites/local/jobs?limit=${huge}`, /limit/],
    ["/3.0/sites/local/jobs/99999999999999999999", /id/],
    ["/3.0/sites/local/jobs/99999999999999999999/walltime", /id/],
    [`/3.0/sites/local/jobs/1/output?offset=${huge}`, /offset/],
    ["/api/v3/jobs/99999999999999999999", /99999999999999999999/],
    [`/api/v3/query?select=id&limit=${huge}`, /limit/],
    [`/api/v3/query?select=id&where=idint>${huge}0000`, /^/],
  ] as const) {
    const r = await api(path);
    if (path.includes("where=")) {
      // A huge number in a rule is only a comparison: an empty answer, not an error.
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      continue;
    }
    isBadRequest(r, field, path);
  }
});

test("a walltime of the wrong type or beyond the queue's limit is a 400 naming it; nothing is stored", async () => {
  const before = (await api("/3.0/sites/local/jobs")).body.total as number;
  const json = (walltime: unknown, queue?: string) =>
    api("/3.0/sites/local/jobs", {
      json: { command: "true", hold: true, walltime, ...(queue ? { queue } : {}) },
    });
  for (const w of [null, true, false, {}, [], [3600], "", "1e18", -1, 0, 1.5, "nan"]) {
    const r = await json(w);
    isBadRequest(r, /walltime/, `walltime ${JSON.stringify(w)}`);
    assert.equal(r.body.code, "GRIDQ_INVALID_WALLTIME", r.text);
  }
  // Too large: the default queue allows a year, `production` what the configuration says.
  for (const [w, queue, limit] of [
    [1e18, undefined, YEAR],
    [2 ** 53 + 1, undefined, YEAR],
    [Number.MAX_VALUE, undefined, YEAR],
    [YEAR + 1, undefined, YEAR],
    ["99999999999999999999:00:00", undefined, null],
    ["8761:00:00", undefined, YEAR],
    [7201, "production", 7200],
  ] as const) {
    const r = await json(w, queue);
    isBadRequest(r, /walltime/, `walltime ${w}`);
    if (limit !== null) assert.match(String(r.body.message), new RegExp(`over the ${limit} s`), r.text);
  }
  // The resources grammar and the form dialect go the same way.
  const viaResources = await api("/3.0/sites/local/jobs", {
    json: { command: "true", hold: true, resources: "core=1,walltime=99999999999:00" },
  });
  isBadRequest(viaResources, /walltime/, "resources walltime");
  for (const walltime of ["1e18", "99999999999999999999", "", "true"]) {
    const r = await api("/3.0/sites/local/jobs", { form: { command: "true", hold: "true", walltime } });
    isBadRequest(r, /walltime/, `form walltime ${walltime}`);
  }
  // Accelerator's autokill is the walltime.
  for (const autokill of [1e18, 2 ** 53 + 1, "99999999999999999999", null, true, {}, [], -5, 0]) {
    const r = await api("/api/v3/jobs", { json: { command: "true", autokill } });
    isBadRequest(r, /walltime|autokill/, `autokill ${JSON.stringify(autokill)}`);
    assert.equal(typeof r.body.error, "string", r.text);
  }
  // A year is allowed.
  const ok = await json(YEAR);
  assert.equal(ok.status, 201, ok.text);
  const after = (await api("/3.0/sites/local/jobs")).body.total as number;
  assert.equal(after, before + 1, "only the valid submission made a job");
  // Extending it past the limit grants nothing beyond it.
  const id = ok.body.uid as number;
  const more = await api(`/3.0/sites/local/jobs/${id}/walltime`, {
    json: { walltime: "+99999999999999999999" },
  });
  isBadRequest(more, /walltime/, "walltime change");
  const plus = await api(`/3.0/sites/local/jobs/${id}/walltime`, { json: { walltime: "+1:00:00" } });
  assert.equal(plus.status, 202, plus.text);
  assert.equal(plus.body.walltime, YEAR, plus.text);
  await api(`/3.0/sites/local/jobs/${id}`, { method: "DELETE" });
});

test("a JSON body's fields have their schema's types (no coercion); a form body's text is still read", async () => {
  for (const [field, value, why] of [
    ["command", true, /body\.command: must be a string/],
    ["name", 5, /body\.name: must be a string/],
    ["hold", "true", /body\.hold: must be a boolean/],
    ["array", "2", /body\.array: must be an integer/],
    ["types", "besteffort", /body\.types: must be a list/],
    ["types", [1], /body\.types\[0\]: must be a string/],
    ["env", { A: 1 }, /body\.env\.A: must be a string/],
    ["env", [], /body\.env: must be an object/],
  ] as const) {
    const r = await api("/3.0/sites/local/jobs", { json: { command: "true", hold: true, [field]: value } });
    isBadRequest(r, why, `${field}=${JSON.stringify(value)}`);
    assert.equal(r.body.code, "GRIDQ_VALIDATION");
  }
  const whole = await api("/3.0/sites/local/jobs", { json: ["command"] });
  isBadRequest(whole, /body: must be an object/, "a list as the body");
  const form = await api("/3.0/sites/local/jobs", {
    form: { command: "true", hold: "true", array: "2", walltime: "1:00" },
  });
  assert.equal(form.status, 201, form.text);
  assert.equal(form.body.state, "hold");
  assert.equal(form.body.walltime, 3600);
  for (const id of [form.body.uid as number, (form.body.uid as number) + 1]) {
    await api(`/3.0/sites/local/jobs/${id}`, { method: "DELETE" });
  }
});
