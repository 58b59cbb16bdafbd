// Unit tests of the selection-rule grammar: parsing, precedence, operators, errors with positions.

import assert from "node:assert/strict";
import { test } from "node:test";
import { GridqError } from "../../src/domain/errors.ts";
import {
  evaluateSelectionRule,
  type FieldMap,
  fieldsOf,
  formatSelectionRule,
  parseSelectionRule,
} from "../../src/domain/selection-rule.ts";

const bobRunning: FieldMap = { STATUS: "RUNNING", USER: "bob", IDINT: 7, HOST: "node-1", JOBNAME: "" };
const aliceDone: FieldMap = { STATUS: "VALID", USER: "alice", IDINT: 12000, HOST: "", JOBNAME: "build all" };
const matches = (rule: string, f: FieldMap) => evaluateSelectionRule(parseSelectionRule(rule), f);

test("the brief's example selects by status and user", () => {
  assert.equal(matches("status==RUNNING & user==bob", bobRunning), true);
  assert.equal(matches("status==RUNNING & user==bob", aliceDone), false);
  assert.equal(matches("status==RUNNING & user==alice", bobRunning), false);
});

test("AND binds tighter than OR; parentheses regroup", () => {
  // a | b & c  ==  a | (b & c)
  assert.equal(matches("user==alice | user==bob & status==VALID", aliceDone), true);
  assert.equal(matches("user==alice | user==bob & status==VALID", bobRunning), false);
  assert.equal(matches("(user==alice | user==bob) & status==VALID", bobRunning), false);
  assert.equal(matches("(user==alice | user==bob) & status==RUNNING", bobRunning), true);
  const ast = parseSelectionRule("a==1 | b==2 & c==3");
  assert.equal(ast.kind, "or");
});

test("a space between predicates means AND; AND/OR/NOT words and doubled symbols work", () => {
  assert.equal(matches("status==RUNNING user==bob", bobRunning), true);
  assert.equal(matches("status==RUNNING user==alice", bobRunning), false);
  assert.equal(matches("status==VALID or user==bob", bobRunning), true);
  assert.equal(matches("NOT user==bob AND status==RUNNING", bobRunning), false);
  assert.equal(matches("user==x || user==bob && idint==7", bobRunning), true);
});

test("! negates a predicate or a group", () => {
  assert.equal(matches("!user==bob", bobRunning), false);
  assert.equal(matches("!(user==bob & status==VALID)", bobRunning), true);
  assert.equal(matches("!!user==bob", bobRunning), true);
});

test("numeric comparisons, and the documented example", () => {
  const rule = "(idint<5000 | idint>10000) & isjob";
  assert.equal(matches(rule, { ...bobRunning, ISJOB: 1 }), true);
  assert.equal(matches(rule, { ...bobRunning, IDINT: 6000, ISJOB: 1 }), false);
  assert.equal(matches(rule, { ...aliceDone, ISJOB: 0 }), false);
  assert.equal(matches("idint>=7 & idint<=7", bobRunning), true);
  assert.equal(matches("idint==7.0", bobRunning), true);
  assert.equal(matches("idint!=7", bobRunning), false);
  assert.equal(matches("idint=7", bobRunning), true);
});

test("a field alone is true when non-zero or non-empty", () => {
  assert.equal(matches("host", bobRunning), true);
  assert.equal(matches("host", aliceDone), false);
  assert.equal(matches("!jobname", bobRunning), true);
});

test("match, substring and glob operators, with case-insensitive variants", () => {
  assert.equal(matches("host~^node-[0-9]$", bobRunning), true);
  assert.equal(matches("host!~^node", bobRunning), false);
  assert.equal(matches("user~~^BO", bobRunning), true);
  assert.equal(matches("user~^BO", bobRunning), false);
  assert.equal(matches("host^ode", bobRunning), true);
  assert.equal(matches("host^^ODE", bobRunning), true);
  assert.equal(matches("host!^ode", bobRunning), false);
  assert.equal(matches("host!^^ODE", bobRunning), false);
  assert.equal(matches("host:node-*", bobRunning), true);
  assert.equal(matches("host:node-?", bobRunning), true);
  assert.equal(matches("host:node", bobRunning), false);
  assert.equal(matches("host::NODE-[0-9]", bobRunning), true);
  assert.equal(matches("host!:node*", bobRunning), false);
  assert.equal(matches("host!::NODE*", bobRunning), false);
});

test("quoted values keep spaces and operators; escapes work", () => {
  assert.equal(matches('jobname=="build all"', aliceDone), true);
  assert.equal(matches("jobname==build\\ all", aliceDone), true);
  assert.equal(matches('jobname=="a \\"b\\" (c)"', { JOBNAME: 'a "b" (c)' }), true);
  assert.equal(matches('jobname==""', bobRunning), true);
});

test("field names are case-insensitive and ignore underscores; spaces around operators are fine", () => {
  assert.equal(matches("Is_Job==1", { ISJOB: 1 }), true);
  assert.equal(matches("USER == bob", bobRunning), true);
  assert.deepEqual([...fieldsOf(parseSelectionRule("user==a | (status==b & !host)"))].sort(), [
    "HOST",
    "STATUS",
    "USER",
  ]);
});

test("formatting rebuilds an equivalent rule with explicit operators", () => {
  for (const rule of [
    "status==RUNNING user==bob",
    "(user==alice | user==bob) & status==VALID",
    '!(a==1 | b=="x y")',
    "a==1 | b==2 & !c",
  ]) {
    const text = formatSelectionRule(parseSelectionRule(rule));
    for (const f of [bobRunning, aliceDone, { A: 1, B: "x y", C: 0 }, { A: 0, B: 2, C: 1 }]) {
      assert.equal(matches(text, f), matches(rule, f), `${rule} -> ${text}`);
    }
  }
  assert.equal(
    formatSelectionRule(parseSelectionRule("status==RUNNING user==bob")),
    "status==RUNNING & user==bob",
  );
  assert.equal(formatSelectionRule(parseSelectionRule("(a|b) c")), "(a | b) & c");
});

const failsAt = (rule: string, position: number, pattern: RegExp, code = "GRIDQ_INVALID_SELECTION_RULE") => {
  assert.throws(
    () => parseSelectionRule(rule, { fields: new Set(["STATUS", "USER", "IDINT", "HOST"]) }),
    (e: unknown) => {
      assert.ok(e instanceof GridqError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.status, 400);
      assert.equal(e.details?.position, position, e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
};

test("errors name the problem and its 1-based position", () => {
  failsAt("", 1, /empty/);
  failsAt("status==RUNNING &", 18, /expected a field name.*end of the rule/);
  failsAt("(status==RUNNING", 17, /expected '\)' to close '\(' at position 1/);
  failsAt("status==RUNNING)", 16, /unexpected '\)'/);
  failsAt("status==", 9, /expected a value/);
  failsAt("status== & user==bob", 10, /expected a value/);
  failsAt('user=="bob', 7, /unterminated/);
  failsAt("idint<abc", 7, /needs a number/);
  failsAt('host~"("', 7, /invalid regular expression/);
  failsAt("user==bob $x", 11, /unexpected '\$'/);
  failsAt("user==bob & nosuch==1", 13, /unknown field 'nosuch'/, "GRIDQ_UNKNOWN_FIELD");
  failsAt(`host~${"a".repeat(300)}`, 6, /longer than/);
  failsAt(`${"(".repeat(100)}user${")".repeat(100)}`, 66, /nesting/);
});
