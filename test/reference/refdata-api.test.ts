// The reference API against a clone of the real 3-site history: counts, versions, time travel, crawl.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { cloneRefdata, HEAD_COMMIT, type Link, referenceApp, type TempRepo } from "./helpers.ts";

let repo: TempRepo;
let app: FastifyInstance;

before(async () => {
  repo = cloneRefdata();
  app = await referenceApp({ repo: repo.dir, refreshIntervalMs: 0 });
});

after(async () => {
  await app?.close();
  repo?.cleanup();
});

async function getJson(url: string): Promise<Record<string, unknown> & { items?: unknown; links: Link[] }> {
  const r = await app.inject({ url });
  assert.equal(r.statusCode, 200, `${url}: ${r.body.slice(0, 200)}`);
  return r.json();
}

/** Counts from git itself (the oracle): sub-folders of a folder at a commit. */
function gitCount(commit: string, path: string, kind: "tree" | "blob"): number {
  const out = repo.git("ls-tree", `${commit}:data/grid5000/${path}`);
  return out.split("\n").filter((l) => l.split(/\s+/)[1] === kind).length;
}

const NODE = "sites/grenoble/clusters/dahu/nodes/dahu-1";
const NODE_FILE = `data/grid5000/${NODE}.json`;

describe("counts", () => {
  test("head: 3 sites; 27/10/3 clusters; 111/69/74 nodes", async () => {
    const sites = await getJson("/3.0/sites");
    assert.deepEqual(
      (sites.items as { uid: string }[]).map((s) => s.uid),
      ["grenoble", "lyon", "nantes"],
    );
    assert.equal(sites.total, 3);
    const expected = { grenoble: [27, 111], lyon: [10, 69], nantes: [3, 74] } as const;
    for (const [site, [clusterCount, nodeCount]] of Object.entries(expected)) {
      const clusters = await getJson(`/3.0/sites/${site}/clusters`);
      assert.equal(clusters.total, clusterCount, site);
      let nodes = 0;
      for (const c of clusters.items as { uid: string }[]) {
        nodes += (await getJson(`/3.0/sites/${site}/clusters/${c.uid}/nodes`)).total as number;
      }
      assert.equal(nodes, nodeCount, site);
    }
  });

  test("a 2015 commit: same counts as git ls-tree at that commit", async () => {
    const commit = repo.git("rev-list", "-1", "--first-parent", "--before=2015-06-01T00:00:00Z", "main");
    const sites = await getJson(`/3.0/sites?version=${commit}`);
    const siteUids = (sites.items as { uid: string }[]).map((s) => s.uid);
    assert.equal(siteUids.length, gitCount(commit, "sites", "tree"));
    assert.ok(siteUids.length >= 3);
    for (const site of siteUids) {
      const clusters = await getJson(`/3.0/sites/${site}/clusters?version=${commit}`);
      assert.equal(clusters.total, gitCount(commit, `sites/${site}/clusters`, "tree"), site);
      for (const c of clusters.items as { uid: string }[]) {
        const nodes = await getJson(`/3.0/sites/${site}/clusters/${c.uid}/nodes?version=${commit}`);
        assert.equal(nodes.total, gitCount(commit, `sites/${site}/clusters/${c.uid}/nodes`, "blob"));
      }
    }
  });

  test("gpu_devices stays an object, priority keeps its type, nodes_count is the file's", async () => {
    const dahu = await getJson("/3.0/sites/grenoble/clusters/dahu");
    const file = JSON.parse(repo.git("show", "main:data/grid5000/sites/grenoble/clusters/dahu/dahu.json"));
    assert.equal(dahu.priority, file.priority);
    assert.equal(dahu.nodes_count, file.nodes_count);
    const nodes = await getJson("/3.0/sites/grenoble/clusters/dahu/nodes");
    assert.equal(nodes.total, gitCount("main", "sites/grenoble/clusters/dahu/nodes", "blob"));
    const gpuNodes = (await getJson("/3.0/sites/lyon/clusters/gemini/nodes/gemini-1")) as Record<
      string,
      unknown
    >;
    assert.equal(typeof gpuNodes.gpu_devices, "object");
    assert.ok(!Array.isArray(gpuNodes.gpu_devices));
    assert.ok(Array.isArray(gpuNodes.network_adapters));
  });
});

describe("versions", () => {
  test("a node's /versions equals git log -- <path>", async () => {
    const expected = repo.git("log", "--format=%H", "--", NODE_FILE).split("\n");
    const page = await getJson(`/3.0/${NODE}/versions?limit=500`);
    assert.equal(page.total, expected.length);
    assert.deepEqual(
      (page.items as { uid: string }[]).map((v) => v.uid),
      expected.slice(0, 500),
    );
    const second = await getJson(`/3.0/${NODE}/versions?offset=10&limit=5`);
    assert.equal(second.offset, 10);
    assert.deepEqual(
      (second.items as { uid: string }[]).map((v) => v.uid),
      expected.slice(10, 15),
    );
    const first = (page.items as Record<string, unknown>[])[0]!;
    const [author, date, subject] = repo.git("log", "-1", "--format=%an%n%ct%n%s", expected[0]!).split("\n");
    assert.equal(first.author, author);
    assert.equal(first.date, new Date(Number(date) * 1000).toUTCString());
    assert.equal(String(first.message).split("\n")[0], subject);
    assert.equal(first.type, "version");
  });

  test("concurrent requests extending one path's history agree (no change counted twice)", async () => {
    const path = "sites/nantes/clusters/ecotype/nodes/ecotype-2";
    const expected = repo.git("log", "--format=%H", "--", `data/grid5000/${path}.json`).split("\n");
    // First the history up to an older commit, so the concurrent requests all extend that one.
    const older = repo.git("rev-list", "-1", "--first-parent", "--before=2020-01-01T00:00:00Z", "main");
    const early = await getJson(`/3.0/${path}/versions?version=${older}&limit=500`);
    assert.deepEqual(
      (early.items as { uid: string }[]).map((v) => v.uid),
      repo.git("log", "--format=%H", older, "--", `data/grid5000/${path}.json`).split("\n"),
    );
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        app.inject({ url: i % 2 ? `/3.0/${path}/versions?limit=500` : `/3.0/${path}` }),
      ),
    );
    for (const [i, r] of answers.entries()) {
      assert.equal(r.statusCode, 200);
      if (i % 2)
        assert.deepEqual(
          r.json().items.map((v: { uid: string }) => v.uid),
          expected,
        );
      else assert.equal(r.json().version, expected[0]);
    }
  });

  test("folders and the root follow git log too; default limit 100, max 500", async () => {
    for (const path of ["sites/nantes", "sites/lyon/clusters", ""]) {
      const expected = repo
        .git("log", "--format=%H", "--", `data/grid5000${path ? `/${path}` : ""}`)
        .split("\n");
      const page = await getJson(`/3.0/${path ? `${path}/` : ""}versions`);
      assert.equal(page.total, expected.length, path);
      assert.equal((page.items as unknown[]).length, Math.min(100, expected.length));
      assert.equal((page.items as { uid: string }[])[0]!.uid, expected[0]);
    }
    const big = await getJson("/3.0/versions?limit=100000");
    assert.equal((big.items as unknown[]).length, 500);
  });

  test("latest redirects (307) to the newest version; a version item; unknown sha is 404", async () => {
    const newest = repo.git("log", "-1", "--format=%H", "--", NODE_FILE);
    const r = await app.inject({ url: `/3.0/${NODE}/versions/latest` });
    assert.equal(r.statusCode, 307);
    assert.equal(r.headers.location, `/3.0/${NODE}/versions/${newest}`);
    const item = await getJson(r.headers.location);
    assert.equal(item.uid, newest);
    assert.deepEqual(
      item.links.map((l) => [l.rel, l.href]),
      [
        ["self", `/3.0/${NODE}/versions/${newest}`],
        ["parent", `/3.0/${NODE}`],
      ],
    );
    const bad = await app.inject({ url: `/3.0/${NODE}/versions/0123456789abcdef0123456789abcdef01234567` });
    assert.equal(bad.statusCode, 404);
    assert.match(
      bad.body,
      /Reference \(branch or commit\) '0123456789abcdef0123456789abcdef01234567' cannot be found\./,
    );
    const none = await app.inject({ url: "/3.0/sites/atlantis/versions" });
    assert.equal(none.statusCode, 404);
  });

  test("an item's version is the last commit that changed its path", async () => {
    const node = await getJson(`/3.0/${NODE}`);
    assert.equal(node.version, repo.git("log", "-1", "--format=%H", "--", NODE_FILE));
    const root = await getJson("/3.0/");
    assert.equal(root.version, HEAD_COMMIT);
    // Pin a commit between two changes of the node: the version is the older change.
    const changes = repo.git("log", "--format=%H", "--", NODE_FILE).split("\n");
    const older = changes[5]!;
    const between = repo
      .git("rev-list", "--first-parent", `${changes[5]}..${changes[4]}`)
      .split("\n")
      .at(-1)!;
    const pinned = await app.inject({ url: `/3.0/${NODE}?version=${between}` });
    assert.equal(pinned.json().version, between === changes[4] ? changes[4] : older);
    assert.equal(pinned.headers["cache-control"], "max-age=2592000, public");
    const atOlder = await getJson(`/3.0/${NODE}?version=${older.slice(0, 12)}`);
    assert.deepEqual(
      atOlder.architecture,
      JSON.parse(repo.git("show", `${older}:${NODE_FILE}`)).architecture,
    );
  });

  test("?timestamp= and ?date= pick the newest commit at or before that time", async () => {
    for (const iso of ["2012-03-01T00:00:00Z", "2015-06-01T12:00:00Z", "2020-01-01T00:00:00Z"]) {
      const ts = Date.parse(iso) / 1000;
      const expected = repo.git("rev-list", "-1", "--first-parent", `--before=${ts}`, "main");
      const root = await getJson(`/3.0/?timestamp=${ts}`);
      assert.equal(root.version, expected, iso);
      const byDate = await getJson(`/3.0/?date=${encodeURIComponent(iso)}`);
      assert.equal(byDate.version, expected, iso);
    }
    const before = await app.inject({ url: "/3.0/?timestamp=1000" });
    assert.equal(before.statusCode, 404);
    for (const bad of ["timestamp=yesterday", "date=not-a-date", "offset=-1", "limit=ten"]) {
      const r = await app.inject({ url: `/3.0/sites/versions?${bad}` });
      assert.equal(r.statusCode, 400, bad);
      assert.match(r.body, new RegExp(bad.split("=")[0]!));
    }
  });

  test("a 2012 node is served at its 2012 commit", async () => {
    const commit = repo.git("rev-list", "-1", "--first-parent", "--before=2012-06-01T00:00:00Z", "main");
    const clusters = await getJson(`/3.0/sites/grenoble/clusters?version=${commit}`);
    const c = (clusters.items as { uid: string }[])[0]!.uid;
    const nodes = await getJson(`/3.0/sites/grenoble/clusters/${c}/nodes?version=${commit}`);
    const n = (nodes.items as { uid: string }[])[0]!.uid;
    const node = await getJson(`/3.0/sites/grenoble/clusters/${c}/nodes/${n}?version=${commit}`);
    const file = `data/grid5000/sites/grenoble/clusters/${c}/nodes/${n}.json`;
    const { version: _v, links: _l, ...body } = node;
    assert.deepEqual(body, JSON.parse(repo.git("show", `${commit}:${file}`)));
  });
});

describe("crawl", () => {
  test("every href reachable from /3.0/ resolves (besides links to other route sets)", async () => {
    const external = new Set(["jobs", "deployments", "vlans", "metrics", "storage", "status"]);
    const seen = new Set<string>(["/3.0/"]);
    const queue = ["/3.0/"];
    const visit = (links: Link[] | undefined) => {
      for (const l of links ?? []) {
        assert.ok(l.href.startsWith("/3.0/"), l.href);
        assert.ok(
          l.type === "application/vnd.grid5000.item+json" ||
            l.type === "application/vnd.grid5000.collection+json",
        );
        if (external.has(l.rel) || seen.has(l.href)) continue;
        seen.add(l.href);
        queue.push(l.href);
      }
    };
    while (queue.length > 0) {
      const href = queue.shift()!;
      const r = await app.inject({ url: href });
      assert.equal(r.statusCode, 200, `${href}: ${r.body.slice(0, 200)}`);
      const body = r.json();
      visit(body.links);
      if (Array.isArray(body.items)) for (const it of body.items) visit(it.links);
    }
    assert.ok(seen.size > 500, `crawled ${seen.size}`);
  });

  test("a site item has the documented link relations", async () => {
    const site = await getJson("/3.0/sites/grenoble");
    assert.deepEqual(site.links.map((l) => l.rel).sort(), [
      "clusters",
      "deployments",
      "jobs",
      "metrics",
      "network_equipments",
      "parent",
      "pdus",
      "self",
      "servers",
      "status",
      "storage",
      "version",
      "versions",
      "vlans",
    ]);
    // Sub-folder links first, in git tree order, then self/parent/version/versions, then the extras.
    assert.deepEqual(
      site.links.slice(0, 5).map((l) => l.rel),
      ["clusters", "network_equipments", "pdus", "servers", "self"],
    );
    assert.equal(site.links.find((l) => l.rel === "parent")!.href, "/3.0/");
    const node = await getJson(`/3.0/${NODE}`);
    assert.equal(node.links.find((l) => l.rel === "parent")!.href, "/3.0/sites/grenoble/clusters/dahu");
    const stable = await getJson("/stable/sites/grenoble");
    assert.equal(stable.links.find((l) => l.rel === "self")!.href, "/stable/sites/grenoble");
  });
});

describe("deep", () => {
  test("nodes?deep=true is a flat array; sites?deep=true nests objects with sorted keys", async () => {
    const nodes = await getJson("/3.0/sites/lyon/clusters/gemini/nodes?deep=true");
    assert.ok(Array.isArray(nodes.items));
    assert.equal(nodes.total, (nodes.items as unknown[]).length);
    const sites = await getJson("/3.0/sites?deep=true");
    const items = sites.items as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(items), ["grenoble", "lyon", "nantes"]);
    const clusters = items.lyon!.clusters as Record<string, Record<string, unknown>>;
    assert.ok(Array.isArray(clusters.gemini!.nodes));
    assert.ok(Array.isArray(items.lyon!.servers));
    const keys = Object.keys(items.lyon!);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(sites.total, 3);
    const root = await getJson("/3.0/?deep=true");
    assert.deepEqual(Object.keys(root.items as object), ["network_equipments", "sites", "type", "uid"]);
    assert.equal(root.total, 4);
    assert.ok(Array.isArray((root.items as { network_equipments: unknown }).network_equipments));
  });
});

describe("queues", () => {
  test("?queues= keeps the clusters whose queues meet it; default admin,default; bad lists are 400", async () => {
    const all = (await getJson("/3.0/sites/grenoble/clusters?queues=all")).items as {
      uid: string;
      queues?: string[];
    }[];
    const byDefault = (await getJson("/3.0/sites/grenoble/clusters")).items as { uid: string }[];
    // In this data every cluster lists admin, so the default filter hides nothing.
    assert.deepEqual(
      byDefault.map((c) => c.uid),
      all.map((c) => c.uid),
    );
    const production = (await getJson("/3.0/sites/grenoble/clusters?queues=production")).items as {
      uid: string;
    }[];
    const expected = all.filter((c) => c.queues?.includes("production")).map((c) => c.uid);
    assert.ok(expected.length > 0 && expected.length < all.length);
    assert.deepEqual(
      production.map((c) => c.uid),
      expected,
    );
    const deep = await getJson("/3.0/sites?deep=true&queues=production");
    assert.deepEqual(Object.keys((deep.items as Record<string, { clusters: object }>).lyon!.clusters), []);
    const grenoble = (deep.items as Record<string, { clusters: Record<string, unknown> }>).grenoble!;
    assert.deepEqual(Object.keys(grenoble.clusters), [...expected].sort());
    const viaHeader = await app.inject({
      url: "/3.0/sites/grenoble/clusters",
      headers: { "x-api-reference-queues": "production" },
    });
    assert.equal(viaHeader.json().total, expected.length);
    assert.equal((await app.inject({ url: "/3.0/sites/grenoble/clusters?queues=a;b" })).statusCode, 400);
  });
});
