// Reference node JSON -> NodeInfo: unit cases, then every node of the real data at the head and in 2012.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { nodeInfoFromReference } from "../../src/domain/node-properties.ts";
import { ReferenceReader } from "../../src/reference/reference-reader.ts";
import { listSiteNodes } from "../../src/reference/site-nodes.ts";
import { cloneRefdata, type TempRepo } from "./helpers.ts";

const WHERE = { site: "grenoble", cluster: "dahu" };

describe("nodeInfoFromReference", () => {
  test("current shape: cores, memory, GPUs keyed by device, flat properties", () => {
    const n = nodeInfoFromReference(
      {
        uid: "dahu-1",
        type: "node",
        nodeset: "dahu",
        exotic: false,
        architecture: { nb_procs: 2, nb_cores: 32, nb_threads: 64, platform_type: "x86_64" },
        main_memory: { ram_size: 206158430208 },
        processor: {
          model: "Intel Xeon",
          version: "Gold 6130",
          clock_speed: 2100000000,
          microarchitecture: "Skylake-SP",
        },
        gpu_devices: { nvidia0: { model: "Tesla V100" }, nvidia1: { model: "Tesla V100" } },
        network_adapters: [
          { interface: "Ethernet", enabled: true, rate: 10000000000, management: false },
          { interface: "Ethernet", enabled: true, rate: 1000000000, management: true },
        ],
        storage_devices: [{ id: "disk0" }],
        supported_job_types: { besteffort: true, deploy: true, max_walltime: 0, virtual: "ivt" },
      },
      WHERE,
    );
    assert.equal(n.uid, "dahu-1");
    assert.equal(n.cores, 32);
    assert.equal(n.memoryBytes, 206158430208);
    assert.equal(n.gpus, 2);
    assert.deepEqual(
      {
        cluster: n.properties.cluster,
        nodeset: n.properties.nodeset,
        memnode: n.properties.memnode,
        memcore: n.properties.memcore,
        cpucore: n.properties.cpucore,
        gpu_count: n.properties.gpu_count,
        gpu_model: n.properties.gpu_model,
        exotic: n.properties.exotic,
        deploy: n.properties.deploy,
        cputype: n.properties.cputype,
        cpufreq: n.properties.cpufreq,
        eth_rate: n.properties.eth_rate,
        disk_count: n.properties.disk_count,
      },
      {
        cluster: "dahu",
        nodeset: "dahu",
        memnode: 196608,
        memcore: 6144,
        cpucore: 16,
        gpu_count: 2,
        gpu_model: "Tesla V100",
        exotic: false,
        deploy: true,
        cputype: "Intel Xeon Gold 6130",
        cpufreq: 2.1,
        eth_rate: 10,
        disk_count: 1,
      },
    );
  });

  test("older shape: smt_size for cores, gpu summary, missing nodeset falls back to the cluster", () => {
    const n = nodeInfoFromReference(
      {
        uid: "genepi-1",
        architecture: { smp_size: 2, smt_size: 8, platform_type: "x86_64" },
        main_memory: { ram_size: 8589934592 },
        gpu: { gpu: true, gpu_count: 1, gpu_model: "GT200" },
      },
      { site: "grenoble", cluster: "genepi" },
    );
    assert.equal(n.cores, 8);
    assert.equal(n.gpus, 1);
    assert.equal(n.properties.nodeset, "genepi");
    assert.equal(n.properties.gpu_model, "GT200");
    assert.equal(n.properties.cpucore, 4);
  });

  test("a node without uid, cores or memory is refused with GRIDQ_VALIDATION", () => {
    for (const bad of [
      null,
      [],
      { architecture: { nb_cores: 1 }, main_memory: { ram_size: 1 } },
      { uid: "x", main_memory: { ram_size: 1 } },
      { uid: "x", architecture: { nb_cores: 2 } },
    ]) {
      assert.throws(() => nodeInfoFromReference(bad, WHERE), { code: "GRIDQ_VALIDATION" });
    }
  });
});

describe("listSiteNodes on the real data", () => {
  let repo: TempRepo;
  let reader: ReferenceReader;
  before(() => {
    repo = cloneRefdata();
    reader = new ReferenceReader(repo.dir);
  });
  after(async () => {
    await reader?.close();
    repo?.cleanup();
  });

  test("head: 111/69/74 nodes; each node's cores and memory equal its file", async () => {
    for (const [site, count] of [
      ["grenoble", 111],
      ["lyon", 69],
      ["nantes", 74],
    ] as const) {
      const { nodes, skipped } = await listSiteNodes(reader, site);
      assert.equal(nodes.length, count, site);
      assert.deepEqual(skipped, []);
      for (const n of nodes.slice(0, 5)) {
        const file = JSON.parse(
          repo.git("show", `main:data/grid5000/sites/${site}/clusters/${n.cluster}/nodes/${n.uid}.json`),
        );
        assert.equal(n.cores, file.architecture.nb_cores);
        assert.equal(n.memoryBytes, file.main_memory.ram_size);
        assert.equal(n.gpus, Object.keys(file.gpu_devices ?? {}).length);
      }
    }
    const gpuNodes = (await listSiteNodes(reader, "lyon")).nodes.filter((n) => n.gpus > 0);
    assert.ok(gpuNodes.length > 0);
  });

  test("2012: every node file maps (older schema)", async () => {
    const ts = String(Date.parse("2012-06-01T00:00:00Z") / 1000);
    const { nodes, skipped } = await listSiteNodes(reader, "grenoble", { timestamp: ts });
    assert.ok(nodes.length > 0);
    assert.deepEqual(skipped, []);
    assert.ok(nodes.every((n) => n.cores > 0 && n.memoryBytes > 0));
  });
});
