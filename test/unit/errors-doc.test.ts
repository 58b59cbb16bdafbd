// docs/errors.md must be exactly what scripts/gen-errors-doc.ts generates from the error registry.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { ERRORS_DOC_PATH, renderErrorsDoc } from "../../scripts/gen-errors-doc.ts";
import { ERRORS } from "../../src/domain/errors.ts";

const HINT = "docs/errors.md is out of date: run `node scripts/gen-errors-doc.ts` and commit the result";

test("docs/errors.md matches the error registry", () => {
  assert.ok(existsSync(ERRORS_DOC_PATH), `docs/errors.md is missing: run \`node scripts/gen-errors-doc.ts\``);
  assert.equal(readFileSync(ERRORS_DOC_PATH, "utf8"), renderErrorsDoc(), HINT);
});

test("the generated table has one row per code with its status and retryable flag", () => {
  const rows = renderErrorsDoc()
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) =>
      l
        .split("|")
        .map((c) => c.trim())
        .join("|"),
    );
  assert.equal(rows.length, Object.keys(ERRORS).length);
  assert.ok(rows.includes("|`GRIDQ_CONFLICT`|409|no|The resource is in a state that does not allow this.|"));
  assert.ok(
    rows.includes("|`GRIDQ_UNAVAILABLE`|503|yes|A backend (store, repository, agent) is unavailable.|"),
  );
});
