// The embedded default: a repository describing this machine, served like any reference.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  createLocalReference,
  type MachineFacts,
  readMachineFacts,
} from "../../src/reference/local-reference.ts";
import { ReferenceReader } from "../../src/reference/reference-reader.ts";
import { listSiteNodes } from "../../src/reference/site-nodes.ts";
import { referenceApp } from "./helpers.ts";

const root = mkdtempSync(join(tmpdir(), "gridq-local-"));
after(() => rmSync(root, { recursive: true, force: true }));

const facts: MachineFacts = {
  hostname: "Build-Box.example.org",
  cores: 6,
  threads: 12,
  procs: 1,
  memoryBytes: 16 * 2 ** 30,
  cpuModel: "AMD Ryzen 5 5600X",
  platform: "x86_64",
  networkAdapters: [{ device: "eth0", ip: "192.0.2.10", mac: "02:00:00:00:00:01" }],
  gpus: [{ vendor: "Nvidia", model: "RTX 3060", memoryBytes: 12 * 2 ** 30 }],
};

test("createLocalReference writes one site, cluster and node, and is idempotent", async () => {
  const dir = join(root, "ref");
  const made = createLocalReference(dir, facts);
  assert.match(String(made.commit), /^[0-9a-f]{40}$/);
  assert.equal(made.node, "build-box");
  assert.equal(createLocalReference(dir, facts).commit, null);

  const reader = new ReferenceReader(dir);
  const app = await referenceApp({ reference: reader });
  try {
    const node = (await app.inject({ url: "/3.0/sites/local/clusters/local/nodes/build-box" })).json();
    assert.equal(node.type, "node");
    assert.equal(node.architecture.nb_cores, 6);
    assert.equal(node.main_memory.ram_size, 16 * 2 ** 30);
    assert.equal(node.version, made.commit);
    for (const key of ["processor", "network_adapters", "supported_job_types", "gpu_devices"])
      assert.ok(key in node, key);
    assert.equal((await app.inject({ url: "/3.0/sites" })).json().total, 1);
    const { nodes } = await listSiteNodes(reader, "local");
    assert.deepEqual(
      nodes.map((n) => [n.uid, n.site, n.cluster, n.cores, n.memoryBytes, n.gpus]),
      [["build-box", "local", "local", 6, 16 * 2 ** 30, 1]],
    );
  } finally {
    await app.close();
    await reader.close();
  }
});

test("readMachineFacts describes this machine", () => {
  const f = readMachineFacts();
  assert.ok(f.cores >= 1);
  assert.ok(f.memoryBytes > 0);
  assert.ok(f.hostname.length > 0);
});

test("names can follow the server's config (site, cluster, the agent's node name)", async () => {
  const dir = join(root, "named");
  const made = createLocalReference(dir, facts, { site: "home", cluster: "box", node: "Build-Box" });
  assert.deepEqual([made.site, made.cluster, made.node], ["home", "box", "Build-Box"]);
  const reader = new ReferenceReader(dir);
  try {
    const { nodes } = await listSiteNodes(reader, "home");
    assert.deepEqual(
      nodes.map((n) => [n.uid, n.site, n.cluster]),
      [["Build-Box", "home", "box"]],
    );
  } finally {
    await reader.close();
  }
  assert.throws(() => createLocalReference(join(root, "bad"), facts, { node: "../x" }), {
    code: "GRIDQ_VALIDATION",
  });
});
