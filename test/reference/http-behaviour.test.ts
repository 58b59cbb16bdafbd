// HTTP rules of the reference API: negotiation, 304, 405, 406, bad input, path escapes, real socket.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { request } from "undici";
import { cloneRefdata, referenceApp, type TempRepo } from "./helpers.ts";

let repo: TempRepo;
let app: FastifyInstance;
let address: string;
const NODE = "/3.0/sites/nantes/clusters/ecotype/nodes/ecotype-1";

before(async () => {
  repo = cloneRefdata();
  app = await referenceApp({ repo: repo.dir, refreshIntervalMs: 0 });
  address = await app.listen({ port: 0, host: "127.0.0.1" });
});

after(async () => {
  await app?.close();
  repo?.cleanup();
});

describe("content negotiation", () => {
  const cases: [string, string | undefined, number, string | undefined][] = [
    [NODE, undefined, 200, "application/json; charset=utf-8"],
    [NODE, "application/json", 200, "application/json; charset=utf-8"],
    [NODE, "*/*", 200, "application/json; charset=utf-8"],
    [NODE, "application/vnd.grid5000.item+json", 200, "application/vnd.grid5000.item+json; charset=utf-8"],
    [NODE, "application/vnd.grid5000.collection+json", 406, undefined],
    [NODE, "text/html", 406, undefined],
    [NODE, "text/html, application/json;q=0.5", 200, "application/json; charset=utf-8"],
    [`${NODE}.json`, "text/html", 200, "application/json; charset=utf-8"],
    [`${NODE}.json`, "application/vnd.grid5000.item+json", 200, "application/json; charset=utf-8"],
    [
      "/3.0/sites",
      "application/vnd.grid5000.collection+json",
      200,
      "application/vnd.grid5000.collection+json; charset=utf-8",
    ],
    ["/3.0/sites", "application/vnd.grid5000.item+json", 406, undefined],
    ["/3.0/sites.json", undefined, 200, "application/json; charset=utf-8"],
  ];
  for (const [url, accept, status, type] of cases) {
    test(`${url} with Accept ${accept ?? "(none)"} -> ${status}`, async () => {
      const r = await app.inject({ url, headers: accept ? { accept } : {} });
      assert.equal(r.statusCode, status, r.body.slice(0, 200));
      if (type) assert.equal(r.headers["content-type"], type);
      if (status === 406) assert.match(r.body, /application\/json/);
    });
  }

  test("?pretty and X-Rack-PrettyJSON indent; the body is the same JSON", async () => {
    const plain = await app.inject({ url: NODE });
    const pretty = await app.inject({ url: `${NODE}?pretty` });
    const header = await app.inject({ url: NODE, headers: { "x-rack-prettyjson": "yes" } });
    assert.ok(!plain.body.includes("\n  "));
    assert.ok(pretty.body.includes('\n  "uid": "ecotype-1"'));
    assert.equal(header.body, pretty.body);
    assert.deepEqual(pretty.json(), plain.json());
    assert.notEqual(pretty.headers.etag, plain.headers.etag);
  });
});

describe("caching", () => {
  test("strong ETag per representation, Last-Modified from the commit, Vary, Cache-Control", async () => {
    const json = await app.inject({ url: NODE });
    const vnd = await app.inject({ url: NODE, headers: { accept: "application/vnd.grid5000.item+json" } });
    assert.match(String(json.headers.etag), /^"[^"]+"$/);
    assert.notEqual(json.headers.etag, vnd.headers.etag);
    assert.equal(json.headers.vary, "Accept");
    assert.equal(
      json.headers["cache-control"],
      "max-age=60, public, must-revalidate, proxy-revalidate, s-maxage=60",
    );
    const ct = repo.git(
      "log",
      "-1",
      "--format=%ct",
      "--",
      "data/grid5000/sites/nantes/clusters/ecotype/nodes/ecotype-1.json",
    );
    assert.equal(json.headers["last-modified"], new Date(Number(ct) * 1000).toUTCString());
    const versions = await app.inject({ url: `${NODE}/versions` });
    assert.equal(versions.headers["cache-control"], "max-age=60, public");
  });

  test("304 for If-None-Match and If-Modified-Since; 200 when stale", async () => {
    const first = await app.inject({ url: NODE });
    const etag = String(first.headers.etag);
    const lm = String(first.headers["last-modified"]);
    const inm = await app.inject({ url: NODE, headers: { "if-none-match": etag } });
    assert.equal(inm.statusCode, 304);
    assert.equal(inm.body, "");
    assert.equal(inm.headers.etag, etag);
    assert.equal(
      (await app.inject({ url: NODE, headers: { "if-none-match": `"x", ${etag}` } })).statusCode,
      304,
    );
    assert.equal((await app.inject({ url: NODE, headers: { "if-none-match": '"other"' } })).statusCode, 200);
    assert.equal((await app.inject({ url: NODE, headers: { "if-modified-since": lm } })).statusCode, 304);
    const older = new Date(Date.parse(lm) - 1000).toUTCString();
    assert.equal((await app.inject({ url: NODE, headers: { "if-modified-since": older } })).statusCode, 200);
    // A changed representation (other media type) does not match the old validator.
    const vnd = await app.inject({
      url: NODE,
      headers: { "if-none-match": etag, accept: "application/vnd.grid5000.item+json" },
    });
    assert.equal(vnd.statusCode, 200);
  });

  test("over a real socket: headers, keep-alive, 304, HEAD", async () => {
    const r = await request(`${address}${NODE}`);
    const body = await r.body.json();
    assert.equal(r.statusCode, 200);
    assert.equal((body as { uid: string }).uid, "ecotype-1");
    assert.equal(r.headers.connection, "keep-alive");
    assert.equal(r.headers.vary, "Accept");
    assert.match(String(r.headers["last-modified"]), /GMT$/);
    assert.match(String(r.headers["cache-control"]), /^max-age=60, public/);
    const again = await request(`${address}${NODE}`, {
      headers: { "if-none-match": String(r.headers.etag) },
    });
    await again.body.dump();
    assert.equal(again.statusCode, 304);
    const head = await request(`${address}${NODE}`, { method: "HEAD" });
    await head.body.dump();
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers.etag, r.headers.etag);
  });
});

describe("bad input", () => {
  test("wrong method: 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"] as const) {
      for (const url of [NODE, "/3.0/", "/3.0/sites", "/"]) {
        const r = await app.inject({ method, url });
        assert.equal(r.statusCode, 405, `${method} ${url}`);
        assert.equal(r.headers.allow, "GET, HEAD");
      }
    }
  });

  test("unknown commit, branch and path: 404 with the documented messages", async () => {
    const cases: [string, RegExp][] = [
      [
        "/3.0/sites?version=0123456789abcdef0123456789abcdef01234567",
        /Commit '0123456789abcdef0123456789abcdef01234567' cannot be found\./,
      ],
      ["/3.0/sites?version=HEAD~1", /Commit 'HEAD~1' cannot be found\./],
      ["/3.0/sites?branch=testing", /Branch 'testing' cannot be found\./],
      ["/3.0/sites?branch=main~1", /Branch 'main~1' cannot be found\./],
      ["/3.0/sites?branch=main:data", /Branch 'main:data' cannot be found\./],
      ["/3.0/sites/atlantis", /Cannot find resource \/sites\/atlantis/],
      ["/3.0/sites/grenoble/grenoble", /Cannot find resource/],
      ["/3.0/sites/grenoble/clusters/dahu/nodes/dahu-1/nothing", /Cannot find resource/],
    ];
    for (const [url, message] of cases) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.match(r.body, message, url);
    }
  });

  test("repeated parameters are a 400", async () => {
    const r = await app.inject({ url: "/3.0/sites?version=a&version=b" });
    assert.equal(r.statusCode, 400);
    assert.match(r.body, /version/);
  });

  test("path escapes never read outside the prefix (inject)", async () => {
    for (const url of [
      "/3.0/sites/%2e%2e/%2e%2e/%2e%2e/README",
      "/3.0/sites/..%2F..%2F..%2Fgrid5000",
      "/3.0/sites/grenoble%2F..%2F..",
      "/3.0/sites/%00",
      "/3.0/sites/grenoble%5C..",
      "/3.0/sites/%E0%A4%A",
      "/3.0/sites//grenoble",
    ]) {
      const r = await app.inject({ url });
      assert.ok(r.statusCode === 400 || r.statusCode === 404, `${url}: ${r.statusCode}`);
    }
  });

  test("path escapes over a raw socket (no client-side normalisation)", async () => {
    const port = Number(new URL(address).port);
    for (const path of [
      "/3.0/sites/../../../../etc/passwd",
      "/3.0/../sites",
      "/3.0/sites/./grenoble",
      "/3.0/sites/grenoble/..",
    ]) {
      const raw = await new Promise<string>((resolve, reject) => {
        const s = connect(port, "127.0.0.1", () =>
          s.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        );
        let data = "";
        s.on("data", (d) => {
          data += d;
        });
        s.on("end", () => resolve(data));
        s.on("error", reject);
      });
      const status = Number(raw.split(" ")[1]);
      assert.ok(status === 400 || status === 404, `${path}: ${raw.slice(0, 80)}`);
      assert.ok(!raw.includes("root:"));
    }
  });
});

describe("entry point", () => {
  test("/ lists the API versions; /3.0 and /3.0/ are the grid item", async () => {
    const root = (await app.inject({ url: "/" })).json();
    assert.deepEqual(
      root.items.map((i: { uid: string }) => i.uid),
      ["3.0", "stable", "sid"],
    );
    for (const url of ["/3.0", "/3.0/", "/sid/", "/stable"]) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.json().uid, "grid5000");
    }
  });
});
