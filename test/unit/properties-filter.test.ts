// Unit tests of the properties filter: grammar, errors with positions, evaluation over node properties.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGridqError } from "../../src/domain/errors.ts";
import { compileLike } from "../../src/domain/linear-pattern.ts";
import { nodeFilter } from "../../src/domain/properties-eval.ts";
import { parseFilter } from "../../src/domain/properties-filter.ts";

const dahu = { cluster: "dahu", gpu_count: 0, memnode: 196608, exotic: false, nodeset: "dahu" };
const chifflot = { cluster: "chifflot", gpu_count: 2, memnode: 196608, exotic: "YES", nodeset: "chifflot" };
const yeti = { cluster: "yeti", gpu_count: 0, memnode: 786432, exotic: "NO", nodeset: "yeti" };
const nodes = [dahu, chifflot, yeti];
const known = new Set(["cluster", "gpu_count", "memnode", "exotic", "nodeset", "note"]);

const select = (text: string): string[] => {
  const f = nodeFilter(text, { knownProperties: known });
  return nodes.filter((n) => f(n)).map((n) => n.cluster);
};

const errorAt = (fn: () => unknown): { code: string; position: number; message: string } => {
  try {
    fn();
  } catch (e) {
    if (!isGridqError(e)) throw e;
    return { code: e.code, position: e.details?.position as number, message: e.message };
  }
  assert.fail("expected an error");
};

describe("properties filter", () => {
  it("compares strings and numbers", () => {
    assert.deepEqual(select("cluster='dahu'"), ["dahu"]);
    assert.deepEqual(select("cluster = 'dahu' and gpu_count > 0"), []);
    assert.deepEqual(select("gpu_count > 0"), ["chifflot"]);
    assert.deepEqual(select("memnode >= 200000"), ["yeti"]);
    assert.deepEqual(select("memnode < 200000"), ["dahu", "chifflot"]);
    assert.deepEqual(select("memnode <= 196608"), ["dahu", "chifflot"]);
    assert.deepEqual(select("cluster != 'dahu'"), ["chifflot", "yeti"]);
    assert.deepEqual(select("cluster <> 'dahu'"), ["chifflot", "yeti"]);
    assert.deepEqual(select("0 < gpu_count"), ["chifflot"]);
    assert.deepEqual(select("memnode >= '200000'"), ["yeti"]);
  });

  it("handles in, like, not, or, parentheses and case-insensitive keywords", () => {
    assert.deepEqual(select("cluster in ('dahu','yeti')"), ["dahu", "yeti"]);
    assert.deepEqual(select("cluster NOT IN ('dahu','yeti')"), ["chifflot"]);
    assert.deepEqual(select("nodeset like 'chi%'"), ["chifflot"]);
    assert.deepEqual(select("nodeset like '_ahu'"), ["dahu"]);
    assert.deepEqual(select("nodeset not like 'd%'"), ["chifflot", "yeti"]);
    assert.deepEqual(select("(cluster='dahu' OR cluster='yeti') And Not memnode > 500000"), ["dahu"]);
    assert.deepEqual(select("not (cluster='dahu' or gpu_count > 0)"), ["yeti"]);
  });

  it("reads booleans both ways (OAR's YES/NO and JSON true/false)", () => {
    assert.deepEqual(select("exotic"), ["chifflot"]);
    assert.deepEqual(select("not exotic"), ["dahu", "yeti"]);
    assert.deepEqual(select("exotic='YES'"), ["chifflot"]);
    assert.deepEqual(select("exotic='NO'"), ["dahu", "yeti"]);
    assert.deepEqual(select("exotic = true"), ["chifflot"]);
  });

  it("treats a missing property as unknown, as SQL does", () => {
    assert.deepEqual(select("note = 'x'"), []);
    assert.deepEqual(select("not (note = 'x')"), []);
    assert.deepEqual(select("note is null"), ["dahu", "chifflot", "yeti"]);
    assert.deepEqual(select("note = 'x' or cluster = 'yeti'"), ["yeti"]);
  });

  it("unescapes doubled quotes and escapes LIKE metacharacters", () => {
    const f = nodeFilter("note = 'it''s'");
    assert.equal(f({ note: "it's" }), true);
    assert.equal(compileLike("a.b%").test("a.bcd"), true);
    assert.equal(compileLike("a.b%").test("axbcd"), false);
    assert.equal(compileLike("100\\%").test("100%"), true);
    assert.equal(compileLike("100\\%").test("1000"), false);
  });

  it("builds an AST, never text", () => {
    const e = parseFilter("cluster='dahu' and gpu_count > 0");
    assert.equal(e.kind, "and");
    if (e.kind !== "and") return;
    assert.deepEqual(e.left, { kind: "compare", property: "cluster", op: "=", value: "dahu", position: 1 });
  });

  it("points at syntax errors", () => {
    assert.deepEqual(errorAt(() => parseFilter("cluster = ")).position, 11);
    assert.equal(errorAt(() => parseFilter("cluster = 'dahu")).position, 11);
    assert.equal(errorAt(() => parseFilter("cluster = 'a' and")).position, 18);
    assert.equal(errorAt(() => parseFilter("(cluster = 'a'")).position, 15);
    assert.equal(errorAt(() => parseFilter("cluster = 'a' ; drop table jobs")).position, 15);
    assert.equal(errorAt(() => parseFilter("cluster in 'a'")).position, 12);
    assert.equal(errorAt(() => parseFilter("")).code, "GRIDQ_INVALID_PROPERTIES");
  });

  it("rejects unknown properties with their position", () => {
    const e = errorAt(() => parseFilter("cluster='a' and gpus > 1", { knownProperties: known }));
    assert.equal(e.code, "GRIDQ_INVALID_PROPERTIES");
    assert.equal(e.position, 17);
    assert.match(e.message, /unknown property 'gpus'/);
  });
});
