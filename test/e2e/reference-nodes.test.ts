// The scheduler's nodes come from the reference: a commit that changes a node changes what
// can be scheduled, without a restart.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createLocalReference, readMachineFacts } from "../../src/reference/local-reference.ts";
import { localNodeName } from "../../src/server/local-node.ts";
import { eventually, startGridq, tempDir } from "../helpers/gridq-process.ts";

test("a node's cores in the reference bound what jobs may ask, and a new commit is picked up", async () => {
  const repo = join(tempDir(), "ref");
  const ref = createLocalReference(
    repo,
    { ...readMachineFacts(), cores: 3, threads: 3 },
    {
      site: "lab",
      cluster: "alpha",
      node: localNodeName(),
    },
  );
  const server = await startGridq({ config: `reference:\n  path: ${repo}\nsite:\n  name: lab\n` });
  const work = tempDir();
  // Writable by the account jobs run as (the wrapper opens output files as that account).
  chmodSync(work, 0o777);

  const sites = (await fetch(`${server.url}/3.0/sites`).then((r) => r.json())) as {
    items: { uid: string }[];
  };
  assert.deepEqual(
    sites.items.map((s: { uid: string }) => s.uid),
    ["lab"],
  );
  const tooBig = await server.cli(["--site", "lab", "run", "-l", "core=4", "--", "true"], { cwd: work });
  assert.equal(tooBig.code, 1);
  assert.match(tooBig.stderr, /never be satisfied.*3 core/);
  const ok = await server.cli(["--site", "lab", "run", "-l", "core=3", "--wait", "--", "true"], {
    cwd: work,
  });
  assert.equal(ok.code, 0, ok.stderr);

  const nodeFile = join(repo, ref.prefix, "sites/lab/clusters/alpha/nodes", `${ref.node}.json`);
  const node = JSON.parse(readFileSync(nodeFile, "utf8"));
  node.architecture.nb_cores = 8;
  writeFileSync(nodeFile, `${JSON.stringify(node, null, 2)}\n`);
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
      encoding: "utf8",
    });
  git("commit", "-qam", "alpha: 8 cores");

  const r = await eventually(
    async () => {
      const x = await server.cli(["--site", "lab", "run", "-l", "core=8", "--wait", "--", "true"], {
        cwd: work,
      });
      return x.code === 0 && x;
    },
    20_000,
    "the new commit to be picked up",
  );
  assert.match(r.stdout, /^\d+\n$/);
  await server.stop();
});
