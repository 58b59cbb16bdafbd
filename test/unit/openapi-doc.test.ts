// docs/openapi.json must be exactly what the server generates from its route schemas.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { OPENAPI_PATH, renderOpenApi } from "../../scripts/gen-openapi.ts";

test("docs/openapi.json matches the route schemas", async () => {
  assert.ok(existsSync(OPENAPI_PATH), "docs/openapi.json is missing: run `node scripts/gen-openapi.ts`");
  const doc = await renderOpenApi();
  assert.equal(
    readFileSync(OPENAPI_PATH, "utf8"),
    doc,
    "docs/openapi.json is out of date: run `node scripts/gen-openapi.ts` and commit the result",
  );
  assert.ok(JSON.parse(doc).paths["/3.0/sites/{site}/jobs"]);
});
