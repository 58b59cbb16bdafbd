// Unit tests of request shapes: what each level takes per node, and the submission-time check.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseResourceRequest } from "../../src/domain/resource-request.ts";
import { filterPropertiesOf, groupShape, whyUnsatisfiable } from "../../src/domain/resource-shape.ts";
import { cluster } from "./helpers/planner-fixtures.ts";

const nodes = [...cluster("a", 2, 16, { cpus: 2 }), ...cluster("b", 1, 8, { gpus: 2 })];
const shape = (text: string) =>
  groupShape(parseResourceRequest(text).groups[0]!, nodes, nodes.map(filterPropertiesOf), new Map());

describe("request shapes", () => {
  it("counts cores per node for each level", () => {
    assert.deepEqual(shape("nodes=2").need, [16, 16, 8]);
    assert.deepEqual(shape("nodes=1/cpu=1").need, [8, 8, 8]);
    assert.deepEqual(shape("nodes=1/cpu=2/core=3").need, [6, 6]);
    assert.deepEqual(shape("nodes=1/gpu=1").candidates, [2]);
    assert.deepEqual(shape("nodes=1/gpu=1").need, [4]);
    assert.deepEqual(shape("nodes=1/core=12").candidates, [0, 1]);
    const units = shape("/cpu=1/core=2");
    assert.deepEqual([units.mode, units.count, units.need], ["units", 1, [2, 2, 2]]);
    assert.deepEqual(shape("core=ALL").mode, "nodes");
  });

  it("explains requests that can never run", () => {
    const why = (t: string) => whyUnsatisfiable(parseResourceRequest(t), nodes);
    assert.equal(why("nodes=3"), null);
    assert.equal(why("core=40"), null);
    assert.match(why("nodes=4")!, /asks for 4 nodes, only 3/);
    assert.match(why("{cluster='zz'}/nodes=1")!, /no node matching \{cluster='zz'\}/);
    assert.match(why("nodes=1/core=20")!, /no node can hold/);
    assert.match(why("core=41")!, /needs more than the 40 available/);
    assert.match(why("{cluster='b'}/nodes=1/gpu=4")!, /no node/);
    assert.match(why("nodes=3+nodes=1/core=1")!, /more than the 40 cores/);
  });
});
