// A root agent's run folder cannot be taken first by another local account: a folder planted
// at its path (the old /tmp one or the new /run/gridq one) does not stop the agent starting.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { describe, test } from "node:test";
import { claimDir } from "../../src/agent/job-state-dir.ts";
import { defaultRunDir, ROOT_RUN_PARENT } from "../../src/agent/run-dir.ts";
import { GridqClient } from "../../src/sdk/client.ts";
import { startGridq, tempDir } from "../helpers/gridq-process.ts";

const skip = process.getuid?.() === 0 ? false : "needs root (to plant folders as another account)";
if (skip) console.log(`# skipped: ${skip}`);

const NOBODY = 65534;
const tokenOf = (home: string): string =>
  JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).token;

/** A folder owned by another account, with a file in it, at `path`. */
function plant(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o777 });
  writeFileSync(join(path, "mine"), "planted\n");
  chownSync(join(path, "mine"), NOBODY, NOBODY);
  chownSync(path, NOBODY, NOBODY);
}

describe("a root agent's run folder", { skip }, () => {
  test("is under a root-owned /run/gridq that no other account can write", () => {
    const dir = defaultRunDir(join(tempDir(), "agent"));
    if (!dir.startsWith(`${ROOT_RUN_PARENT}/`)) {
      console.log(`# ${ROOT_RUN_PARENT} cannot be made here: ${dir} (renamed aside if planted)`);
      return;
    }
    const st = lstatSync(ROOT_RUN_PARENT);
    assert.equal(st.uid, 0);
    assert.equal(st.mode & 0o777, 0o711);
  });

  test("a folder planted by another account is renamed aside and made again", () => {
    const path = join(tempDir(), "run");
    plant(path);
    claimDir(path, 0o711);
    const st = lstatSync(path);
    assert.equal(st.uid, 0, "the folder is now the agent's");
    assert.equal(st.mode & 0o777, 0o711);
    assert.deepEqual(readdirSync(path), [], "nothing of the planted folder is in it");
    const aside = readdirSync(dirname(path)).filter((f) => f.startsWith(`${basename(path)}.not-ours-`));
    assert.equal(aside.length, 1, "the planted folder is kept aside, not deleted");
    assert.equal(readFileSync(join(dirname(path), aside[0]!, "mine"), "utf8"), "planted\n");
  });

  test("folders planted at the old and the new paths do not stop the server's agent", async () => {
    const home = tempDir();
    const stateDir = join(home, "agent");
    const hash = createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 12);
    const planted = [defaultRunDir(stateDir), join(tmpdir(), `gridq-run-0-${hash}`)];
    for (const p of new Set(planted)) plant(p);
    for (let round = 0; round < 2; round++) {
      // Twice: a clean stop removes the agent's empty run folder, the second start makes it again.
      const server = await startGridq({ home, config: "site: {cores: 1}\n" });
      try {
        const admin = new GridqClient({ url: server.url, credentials: { token: tokenOf(home) } });
        const j = await admin.submitJob("local", { command: "echo ran", directory: home });
        const done = await admin.waitJob("local", j.uid);
        assert.equal(done.state, "terminated", done.message);
        assert.equal(await new Response((await admin.output("local", j.uid)).body).text(), "ran\n");
      } finally {
        await server.stop();
      }
    }
    const runDir = defaultRunDir(stateDir);
    assert.ok(!existsSync(runDir) || lstatSync(runDir).uid === 0, "no folder of another account is used");
    // What this test planted, renamed aside or not, goes (tempDir removes the rest).
    for (const p of new Set(planted)) {
      for (const f of readdirSync(dirname(p)).filter((f) => f.startsWith(basename(p)))) {
        rmSync(join(dirname(p), f), { recursive: true, force: true });
      }
    }
  });
});
