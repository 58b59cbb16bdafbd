// End to end: the scheduling verbs of the CLI against a real server with real job processes:
// hold and resume, run --after, run --array, run --properties, and the status route.

import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";

let server: GridqServer;
let work: string;

before(async () => {
  server = await startGridq({ config: "jobs:\n  killGrace: 1\nsite:\n  cores: 2\n" });
  work = tempDir();
  chmodSync(work, 0o777);
});
after(() => server.stop());

const json = async (args: string[]) => {
  // Right after the verb: after `--`, it would be part of the job's command.
  const r = await server.cli([args[0]!, "--json", ...args.slice(1)], { cwd: work });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};
const state = async (id: number) => (await json(["info", String(id)]))[0];

test("run --hold, gridq hold and resume, run --after waits for its dependency", async () => {
  const held = await json(["run", "--hold", "--", "echo", "held"]);
  assert.equal(held.state, "hold");
  const resumed = await json(["resume", String(held.uid)]);
  assert.equal(resumed[0].state, "waiting");
  await eventually(async () => (await state(held.uid)).state === "terminated");
  const bad = await server.cli(["hold", String(held.uid)], { cwd: work });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /cannot hold a job in state 'terminated'/);

  const first = await json(["run", "--", "sh", "-c", "sleep 1; echo first >> order"]);
  const second = await json(["run", "--after", String(first.uid), "--", "sh", "-c", "echo second >> order"]);
  assert.deepEqual(second.dependencies, [`afterok:${first.uid}`]);
  const w = await server.cli(["wait", String(second.uid)], { cwd: work });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(readFileSync(join(work, "order"), "utf8"), "first\nsecond\n");
});

test("run --array N gives N jobs with their index; --properties is checked", async () => {
  const first = await json(["run", "--array", "3", "--", "sh", "-c", 'echo "$OAR_ARRAY_INDEX"']);
  const ids = [first.uid, first.uid + 1, first.uid + 2];
  const w = await server.cli(["wait", ...ids.map(String)], { cwd: work });
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(
    ids.map((id) => readFileSync(join(work, `OAR.${id}.stdout`), "utf8")),
    ["0\n", "1\n", "2\n"],
  );
  const bad = await server.cli(["run", "-p", "gpus > 0", "--", "true"], { cwd: work });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown property 'gpus' at position 1/);
});

test("the status route answers with the node's slots", async () => {
  const token = JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token as string;
  const r = await fetch(`${server.url}/3.0/sites/local/status`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { nodes: Record<string, { hard: string; free_slots: number }> };
  const nodes = Object.values(body.nodes);
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]?.hard, "alive");
  assert.equal(nodes[0]?.free_slots, 2);
});
