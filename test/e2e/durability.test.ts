// A server killed with SIGKILL and restarted still has every acknowledged job.

import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { GridqClient } from "../../src/sdk/client.ts";
import { eventually, startGridq, tempDir } from "../helpers/gridq-process.ts";

const tokenOf = (home: string): string =>
  JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token;

test("every acknowledged submission survives kill -9 of the server", async () => {
  const server = await startGridq();
  const work = tempDir();
  // Writable by the account jobs run as (the wrapper opens output files as that account).
  chmodSync(work, 0o777);
  const client = new GridqClient({ url: server.url, credentials: { token: tokenOf(server.home) } });

  // A running job at the moment of the crash, which prints its process group id (its session
  // leader is the wrapper shell, the parent of the command's shell).
  const running = await client.submitJob("local", {
    command: "ps -o pgid= -p $$; exec sleep 60",
    directory: work,
  });
  const pgid = await eventually(async () => {
    try {
      return Number(readFileSync(join(work, `OAR.${running.uid}.stdout`), "utf8").trim()) || null;
    } catch {
      return null;
    }
  });

  const acked: number[] = [];
  let stop = false;
  const writers = Array.from({ length: 8 }, async () => {
    while (!stop) {
      try {
        const j = await client.submitJob("local", { command: "true", hold: true, directory: work });
        acked.push(j.uid);
      } catch {
        return; // the server is gone: whatever was not acknowledged may be lost
      }
    }
  });
  await eventually(async () => acked.length >= 200, 20_000, "200 acknowledged submissions");
  await server.stop("SIGKILL");
  stop = true;
  await Promise.all(writers);

  const again = await startGridq({ home: server.home });
  const c2 = new GridqClient({ url: again.url, credentials: { token: tokenOf(server.home) } });
  const seen = new Set<number>();
  for (let offset = 0; ; offset += 500) {
    const page = await c2.listJobs("local", { limit: 500, offset });
    for (const j of page.items) seen.add(j.uid);
    if (offset + 500 >= page.total) break;
  }
  const lost = acked.filter((id) => !seen.has(id));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged jobs lost`);

  // The job that was running when the server died kept running: the new embedded agent adopted
  // it from its state folder, and still controls it (a cancel kills its process group).
  const adopted = await c2.getJob("local", running.uid);
  assert.equal(adopted.state, "running");
  process.kill(-pgid, 0);
  await c2.cancelJob("local", running.uid);
  const r = await c2.waitJob("local", running.uid);
  assert.equal(r.state, "error");
  assert.match(r.message ?? "", /canceled/);
  // Signaled processes take a moment to be reaped (by init, once their parent shell is gone).
  await eventually(
    async () => {
      try {
        process.kill(-pgid, 0);
        return false;
      } catch {
        return true;
      }
    },
    5000,
    "the job's processes gone",
  );
  await again.stop();
});
