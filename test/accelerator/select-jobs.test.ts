// Which store filters a selection rule implies: only from predicates every match must satisfy.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSelectionRule } from "../../src/domain/selection-rule.ts";
import { pushDown } from "../../src/services/select-jobs.ts";

const down = (rule: string) => pushDown(parseSelectionRule(rule));

test("top-level equalities narrow the read; anything under | or ! does not", () => {
  assert.deepEqual(pushDown(null), {});
  assert.deepEqual(down("status==RUNNING & user==bob"), { state: "running", user: "bob" });
  assert.deepEqual(down("statusnc==Failed queue=default jobname==x"), {
    state: "terminated,error",
    queue: "default",
    name: "x",
  });
  assert.deepEqual(down("user==bob | user==alice"), {});
  assert.deepEqual(down("!user==bob"), {});
  assert.deepEqual(down("(user==bob | status==VALID) & queue==default"), { queue: "default" });
  assert.deepEqual(down("user!=bob & idint>3 & user~b"), {});
});

test("a status no job can have reads nothing at all", () => {
  assert.equal(down("status==NOSUCH"), null);
  assert.equal(
    down("statusnc==running & user==bob"),
    null,
    "display names are case-sensitive, as the rule is",
  );
});
