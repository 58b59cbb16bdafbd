// Pure shape builders: path segments (escapes refused), hrefs, link order, key sorting.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_EXTRA_LINKS,
  hrefFor,
  itemLinks,
  parseSegments,
  sortKeysDeep,
  versionItem,
} from "../../src/reference/representation.ts";

test("parseSegments decodes once and refuses escapes", () => {
  assert.deepEqual(parseSegments("/sites/grenoble/"), { segments: ["sites", "grenoble"] });
  assert.deepEqual(parseSegments(""), { segments: [] });
  assert.deepEqual(parseSegments("/"), { segments: [] });
  assert.deepEqual(parseSegments("/a%20b"), { segments: ["a b"] });
  assert.deepEqual(parseSegments("/%252e%252e"), { segments: ["%2e%2e"] }, "decoded once only");
  for (const bad of [
    "/..",
    "/.",
    "/%2e%2e",
    "/a%2Fb",
    "/a%5Cb",
    "/a%00",
    "/a%0a",
    "//a",
    "/%E0%A4%A",
    "/a/../b",
  ]) {
    assert.ok("error" in parseSegments(bad), bad);
  }
});

test("hrefs and item links: sub-folders first, then self, parent, version, versions, extras", () => {
  assert.equal(hrefFor("/3.0", []), "/3.0/");
  assert.equal(hrefFor("/3.0", ["sites", "a b"]), "/3.0/sites/a%20b");
  const links = itemLinks({
    base: "/3.0",
    segments: ["sites", "lyon"],
    parentSegments: [],
    subfolders: ["clusters", "servers"],
    version: "abc",
    extras: DEFAULT_EXTRA_LINKS,
  });
  assert.deepEqual(
    links.map((l) => `${l.rel} ${l.href}`),
    [
      "clusters /3.0/sites/lyon/clusters",
      "servers /3.0/sites/lyon/servers",
      "self /3.0/sites/lyon",
      "parent /3.0/",
      "version /3.0/sites/lyon/versions/abc",
      "versions /3.0/sites/lyon/versions",
      "jobs /3.0/sites/lyon/jobs",
      "deployments /3.0/sites/lyon/deployments",
      "vlans /3.0/sites/lyon/vlans",
      "metrics /3.0/sites/lyon/metrics",
      "storage /3.0/sites/lyon/storage",
      "status /3.0/sites/lyon/status",
    ],
  );
  const node = itemLinks({
    base: "/sid",
    segments: ["sites", "lyon", "clusters", "gemini", "nodes", "gemini-1"],
    parentSegments: ["sites", "lyon", "clusters", "gemini"],
    subfolders: [],
    version: "abc",
    extras: DEFAULT_EXTRA_LINKS,
  });
  assert.deepEqual(
    node.map((l) => l.rel),
    ["self", "parent", "version", "versions"],
  );
});

test("version items and recursive key sorting", () => {
  const v = versionItem({ sha: "abc", time: 0, message: "m", author: "a" }, "/3.0/");
  assert.equal(v.date, "Thu, 01 Jan 1970 00:00:00 GMT");
  assert.deepEqual(
    (v.links as { href: string }[]).map((l) => l.href),
    ["/3.0/versions/abc", "/3.0/"],
  );
  assert.equal(
    JSON.stringify(sortKeysDeep({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 3 } })),
    '{"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}',
  );
});
