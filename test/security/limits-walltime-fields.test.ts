// A bad walltime is a 400 naming the field the client sent it in: `walltime` (native), the
// `resources` text it was written in, or Accelerator's `autokill`; in `details.field` too.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { adminClient } from "./limits-client.ts";

let gq: GridqServer;
let api: ReturnType<typeof adminClient>;

before(async () => {
  gq = await startGridq({ config: "site:\n  cores: 1\nqueues:\n  default:\n    maxWalltime: 7200\n" });
  api = adminClient(gq);
});
after(async () => {
  await gq?.stop();
});

test("native dialect: walltime text and resources name their own field", async () => {
  for (const [body, field] of [
    [{ command: "true", walltime: "soon" }, "walltime"],
    [{ command: "true", walltime: "0:00" }, "walltime"],
    [{ command: "true", walltime: "99999999999999999999:00" }, "walltime"],
    [{ command: "true", resources: "nodes=1,walltime=later" }, "resources"],
  ] as const) {
    const r = await api("/3.0/sites/local/jobs", { json: body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.code, "GRIDQ_INVALID_WALLTIME", r.text);
    assert.equal((r.body.details as { field?: string }).field, field, r.text);
    assert.match(String(r.body.message), new RegExp(`^${field}: `), r.text);
  }
});

test("Accelerator dialect: autokill errors say autokill, never walltime", async () => {
  for (const autokill of ["soon", "0", "0:00", 2.5, -1, "3:00:00", 3 * 3600]) {
    const r = await api("/api/v3/jobs", { json: { command: "true", autokill } });
    assert.equal(r.status, 400, `autokill ${JSON.stringify(autokill)}: ${r.text}`);
    assert.match(r.text, /autokill/, r.text);
    assert.doesNotMatch(r.text, /walltime/, `autokill ${JSON.stringify(autokill)}: ${r.text}`);
  }
  const ok = await api("/api/v3/jobs", { json: { command: "true", autokill: "1:00:00" } });
  assert.equal(ok.status, 201, ok.text);
});
