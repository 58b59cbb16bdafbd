// Unit tests of the OAR resource-request grammar: every documented form, and errors pointing at the text.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGridqError } from "../../src/domain/errors.ts";
import { compileFilter } from "../../src/domain/properties-eval.ts";
import { formatWalltime, parseResourceRequest, parseWalltime } from "../../src/domain/resource-request.ts";

const levels = (text: string) => parseResourceRequest(text).groups.map((g) => g.levels);

const errorOf = (text: string, known?: Set<string>) => {
  try {
    parseResourceRequest(text, known ? { knownProperties: known } : {});
  } catch (e) {
    if (!isGridqError(e)) throw e;
    return { code: e.code, position: e.details?.position, message: e.message };
  }
  assert.fail(`expected '${text}' to be rejected`);
};

describe("resource request grammar", () => {
  it("parses levels", () => {
    assert.deepEqual(levels("nodes=2"), [[{ type: "nodes", count: 2 }]]);
    assert.deepEqual(levels("core=4"), [[{ type: "core", count: 4 }]]);
    assert.deepEqual(levels("host=2/core=4"), [
      [
        { type: "nodes", count: 2 },
        { type: "core", count: 4 },
      ],
    ]);
    assert.deepEqual(levels("/cpu=1/core=2"), [
      [
        { type: "cpu", count: 1 },
        { type: "core", count: 2 },
      ],
    ]);
    assert.deepEqual(levels("nodes=ALL"), [[{ type: "nodes", count: "ALL" }]]);
    assert.deepEqual(levels("nodes=best"), [[{ type: "nodes", count: "BEST" }]]);
    assert.deepEqual(levels("nodes=1/gpu=2"), [
      [
        { type: "nodes", count: 1 },
        { type: "gpu", count: 2 },
      ],
    ]);
  });

  it("defaults to nodes=1 and reads the walltime", () => {
    const r = parseResourceRequest("walltime=1:30");
    assert.deepEqual(r.groups[0]!.levels, [{ type: "nodes", count: 1 }]);
    assert.equal(r.walltime, 5400);
    assert.equal(parseResourceRequest("").text, "nodes=1");
    assert.equal(parseResourceRequest("nodes=3,walltime=02:00").walltime, 7200);
    assert.equal(parseResourceRequest("walltime=0:10:30,nodes=1").walltime, 630);
    assert.equal(parseWalltime("2"), 7200);
    assert.equal(formatWalltime(5430), "1:30:30");
  });

  it("parses filters into the properties AST", () => {
    const r = parseResourceRequest("{(type='default' or type='disk') AND cluster='x'}/nodes=2");
    const g = r.groups[0]!;
    assert.equal(g.filter, "(type='default' or type='disk') AND cluster='x'");
    const f = compileFilter(g.filterExpr!);
    assert.equal(f({ type: "default", cluster: "x" }), true);
    assert.equal(f({ type: "disk", cluster: "x" }), true);
    assert.equal(f({ type: "default", cluster: "y" }), false);
    assert.equal(parseResourceRequest("{cluster='dahu'}nodes=2").groups[0]!.filter, "cluster='dahu'");
  });

  it("splits '+' groups, not inside braces or quotes", () => {
    const r = parseResourceRequest("{cluster='a+b'}/nodes=2/core=4+{cluster='c'}/core=1,walltime=2:00");
    assert.equal(r.groups.length, 2);
    assert.equal(r.groups[0]!.filter, "cluster='a+b'");
    assert.deepEqual(r.groups[1]!.levels, [{ type: "core", count: 1 }]);
    assert.equal(r.groups[1]!.position, 32);
    assert.equal(r.walltime, 7200);
  });

  it("points at errors", () => {
    assert.deepEqual(errorOf("nodes=x"), {
      code: "GRIDQ_INVALID_RESOURCES",
      position: 7,
      message: "expected a whole number, ALL or BEST, found 'x' at position 7 of 'nodes=x'",
    });
    assert.equal(errorOf("nodes=0").position, 7);
    assert.equal(errorOf("racks=2").position, 1);
    assert.equal(errorOf("nodes=1+").position, 9);
    assert.equal(errorOf("core=2/nodes=1").position, 8);
    assert.equal(errorOf("nodes=1,nodes=2").code, "GRIDQ_INVALID_RESOURCES");
    assert.equal(errorOf("{cluster='a'/nodes=1").position, 1);
    assert.equal(errorOf("{cluster=}/nodes=1").position, 10);
    assert.equal(errorOf("{}/nodes=1").position, 1);
    assert.equal(errorOf("nodes=1,walltime=1:00,walltime=2:00").position, 23);
    const w = errorOf("nodes=1,walltime=abc");
    assert.equal(w.code, "GRIDQ_INVALID_WALLTIME");
    assert.equal(w.position, 9);
  });

  it("rejects unknown properties inside braces, pointing into the whole request", () => {
    const e = errorOf("nodes=1+{cluster='a' and gpuz>0}/nodes=1", new Set(["cluster"]));
    assert.equal(e.code, "GRIDQ_INVALID_RESOURCES");
    assert.equal(e.position, 26);
    assert.match(e.message, /unknown property 'gpuz'/);
  });
});
