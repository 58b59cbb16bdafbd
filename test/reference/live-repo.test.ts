// A repository the test builds and commits to while the server runs: new commits show without restart.

import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createReferenceNodeDirectory } from "../../src/reference/reference-node-directory.ts";
import { ReferenceReader } from "../../src/reference/reference-reader.ts";
import { listSiteNodes, listSites } from "../../src/reference/site-nodes.ts";
import { emptyRepo, referenceApp, type TempRepo } from "./helpers.ts";

let repo: TempRepo;
let app: FastifyInstance;
let reader: ReferenceReader;
const P = "data/grid5000";
const NODES = "/3.0/sites/alpha/clusters/c1/nodes";

function node(uid: string, cores: number): Record<string, unknown> {
  return {
    uid,
    type: "node",
    architecture: { nb_procs: 1, nb_cores: cores, nb_threads: cores, platform_type: "x86_64" },
    main_memory: { ram_size: 8 * 2 ** 30 },
    supported_job_types: { besteffort: true, deploy: false, max_walltime: 0, queues: ["default"] },
  };
}

function write(path: string, json: unknown): void {
  const file = join(repo.dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}

function commit(message: string, date: string): string {
  repo.git("add", "--all");
  repo.gitWith(
    { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date },
    "commit",
    "--quiet",
    "--no-gpg-sign",
    "-m",
    message,
  );
  return repo.git("rev-parse", "HEAD");
}

async function get(url: string, headers: Record<string, string> = {}) {
  return app.inject({ url, headers });
}

before(async () => {
  repo = emptyRepo();
  write(`${P}/grid5000.json`, { type: "grid", uid: "grid5000" });
  write(`${P}/sites/alpha/alpha.json`, { uid: "alpha", type: "site", name: "Alpha" });
  write(`${P}/sites/alpha/clusters/c1/c1.json`, { uid: "c1", type: "cluster", priority: "201800" });
  write(`${P}/sites/alpha/clusters/c1/nodes/c1-1.json`, node("c1-1", 4));
  commit("first", "2020-01-01T00:00:00Z");
  reader = new ReferenceReader(repo.dir, { refreshIntervalMs: 0 });
  app = await referenceApp({ reference: reader });
});

after(async () => {
  await app?.close();
  await reader?.close();
  repo?.cleanup();
});

test("commits made while the server runs are served without a restart", async () => {
  const a = repo.git("rev-parse", "HEAD");
  assert.equal((await get(NODES)).json().total, 1);
  const before1 = await get(`${NODES}/c1-1`);
  assert.equal(before1.json().version, a);

  write(`${P}/sites/alpha/clusters/c1/nodes/c1-2.json`, node("c1-2", 8));
  const b = commit("add c1-2", "2021-01-01T00:00:00Z");
  const list = (await get(NODES)).json();
  assert.equal(list.total, 2);
  assert.equal(list.version, b);
  assert.deepEqual(
    (await get(`${NODES}/versions`)).json().items.map((v: { uid: string }) => v.uid),
    [b, a],
  );
  assert.equal((await get(`${NODES}/c1-1`)).json().version, a, "an unchanged node keeps its version");
  assert.equal(
    (await get(`${NODES}/c1-1`, { "if-none-match": String(before1.headers.etag) })).statusCode,
    304,
  );

  write(`${P}/sites/alpha/clusters/c1/nodes/c1-1.json`, node("c1-1", 16));
  const c = commit("c1-1 has 16 cores", "2022-01-01T00:00:00Z");
  const now = (await get(`${NODES}/c1-1`)).json();
  assert.equal(now.version, c);
  assert.equal(now.architecture.nb_cores, 16);
  assert.equal(
    (await get(`${NODES}/c1-1`, { "if-none-match": String(before1.headers.etag) })).statusCode,
    200,
  );
  assert.equal((await get(`${NODES}/c1-1?version=${a}`)).json().architecture.nb_cores, 4);
  assert.equal(
    (await get(`${NODES}/c1-1?timestamp=${Date.parse("2021-06-01") / 1000}`)).json().architecture.nb_cores,
    4,
  );
  assert.equal((await get(`${NODES}/c1-1?date=2022-06-01`)).json().architecture.nb_cores, 16);
  assert.deepEqual(
    (await get(`${NODES}/c1-1/versions`)).json().items.map((v: { uid: string }) => v.uid),
    [c, a],
  );

  rmSync(join(repo.dir, `${P}/sites/alpha/clusters/c1/nodes/c1-2.json`));
  const d = commit("retire c1-2", "2023-01-01T00:00:00Z");
  assert.equal((await get(`${NODES}/c1-2`)).statusCode, 404);
  assert.equal((await get(`${NODES}/c1-2?version=${b}`)).statusCode, 200);
  assert.deepEqual(
    (await get(`${NODES}/c1-2/versions`)).json().items.map((v: { uid: string }) => v.uid),
    [d, b],
    "like git log -- path, the deletion is a version",
  );
  assert.deepEqual(
    repo.git("log", "--format=%H", "--", `${P}/sites/alpha/clusters/c1/nodes/c1-2.json`).split("\n"),
    [d, b],
  );
});

test("repacking while serving, then a new commit, still reads", async () => {
  repo.git("gc", "--quiet", "--prune=now");
  assert.equal((await get(NODES)).statusCode, 200);
  write(`${P}/sites/alpha/clusters/c1/nodes/c1-3.json`, node("c1-3", 2));
  commit("add c1-3", "2024-01-01T00:00:00Z");
  const list = (await get(NODES)).json();
  assert.deepEqual(
    list.items.map((n: { uid: string }) => n.uid),
    ["c1-1", "c1-3"],
  );
});

test("?branch= serves another branch; an unknown branch is a 404", async () => {
  repo.git("branch", "testing", "HEAD~1");
  repo.git("checkout", "--quiet", "testing");
  write(`${P}/sites/alpha/clusters/c1/nodes/c1-9.json`, node("c1-9", 1));
  commit("testing only", "2024-02-01T00:00:00Z");
  repo.git("checkout", "--quiet", "main");
  const testing = (await get(`${NODES}?branch=testing`)).json();
  assert.deepEqual(
    testing.items.map((n: { uid: string }) => n.uid),
    ["c1-1", "c1-9"],
  );
  const testingHead = repo.git("rev-parse", "testing");
  const pinned = (await get(`${NODES}?version=${testingHead}`)).json();
  assert.equal(pinned.total, 2, "?version= reads a commit of any branch");
  const viaHeader = (await get(NODES, { "x-api-reference-branch": "testing" })).json();
  assert.equal(viaHeader.total, 2);
  assert.equal((await get(`${NODES}?branch=nope`)).statusCode, 404);
});

test("the scheduler's view: a site's nodes as NodeInfo", async () => {
  assert.deepEqual(await listSites(reader), ["alpha"]);
  const { nodes, skipped } = await listSiteNodes(reader, "alpha");
  assert.deepEqual(skipped, []);
  assert.deepEqual(
    nodes.map((n) => [n.uid, n.cluster, n.cores, n.memoryBytes, n.properties.memnode]),
    [
      ["c1-1", "c1", 16, 8 * 2 ** 30, 8192],
      ["c1-3", "c1", 2, 8 * 2 ** 30, 8192],
    ],
  );
  const old = await listSiteNodes(reader, "alpha", { timestamp: String(Date.parse("2021-06-01") / 1000) });
  assert.deepEqual(
    old.nodes.map((n) => [n.uid, n.cores]),
    [
      ["c1-1", 4],
      ["c1-2", 8],
    ],
  );
  await assert.rejects(listSiteNodes(reader, "omega"), { code: "GRIDQ_UNKNOWN_SITE" });
  await assert.rejects(listSiteNodes(reader, "../alpha"), { code: "GRIDQ_UNKNOWN_SITE" });
});

test("a throttled reader sees a new commit within its refresh interval", async () => {
  const slow = new ReferenceReader(repo.dir, { refreshIntervalMs: 200 });
  const slowApp = await referenceApp({ reference: slow });
  try {
    const before2 = (await slowApp.inject({ url: NODES })).json().total;
    write(`${P}/sites/alpha/clusters/c1/nodes/c1-4.json`, node("c1-4", 2));
    commit("add c1-4", "2024-03-01T00:00:00Z");
    let total = before2;
    const deadline = Date.now() + 3000;
    while (total === before2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      total = (await slowApp.inject({ url: NODES })).json().total;
    }
    assert.equal(total, before2 + 1);
  } finally {
    await slowApp.close();
    await slow.close();
  }
});

test("the node directory follows new commits", async () => {
  const changes: string[] = [];
  const directory = await createReferenceNodeDirectory(reader, {
    refreshIntervalMs: 0,
    onChange: (c) => changes.push(c),
  });
  try {
    assert.deepEqual(directory.sites(), ["alpha"]);
    const before3 = directory.nodes("alpha").length;
    assert.equal(await directory.refresh(), false);
    write(`${P}/sites/alpha/clusters/c1/nodes/c1-5.json`, node("c1-5", 2));
    const head = commit("add c1-5", "2024-04-01T00:00:00Z");
    assert.equal(await directory.refresh(), true);
    assert.equal(directory.commit(), head);
    assert.deepEqual(changes, [head]);
    assert.equal(directory.nodes("alpha").length, before3 + 1);
    assert.deepEqual(directory.nodes("omega"), []);
  } finally {
    directory.close();
  }
});

test("an empty repository starts, answers 404, then serves its first commit", async () => {
  const empty = emptyRepo();
  const fresh = new ReferenceReader(empty.dir, { refreshIntervalMs: 0 });
  const freshApp = await referenceApp({ reference: fresh });
  try {
    const before4 = await freshApp.inject({ url: "/3.0/sites" });
    assert.equal(before4.statusCode, 404);
    assert.match(before4.body, /Branch 'main' cannot be found\./);
    mkdirSync(join(empty.dir, "data/grid5000/sites/s1"), { recursive: true });
    writeFileSync(join(empty.dir, "data/grid5000/grid5000.json"), '{"uid":"grid5000","type":"grid"}');
    writeFileSync(join(empty.dir, "data/grid5000/sites/s1/s1.json"), '{"uid":"s1","type":"site"}');
    empty.git("add", "--all");
    empty.git("commit", "--quiet", "--no-gpg-sign", "-m", "first");
    const after1 = await freshApp.inject({ url: "/3.0/sites" });
    assert.equal(after1.statusCode, 200);
    assert.equal(after1.json().items[0].uid, "s1");
  } finally {
    await freshApp.close();
    await fresh.close();
    empty.cleanup();
  }
});
