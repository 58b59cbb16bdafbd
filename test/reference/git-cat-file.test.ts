// The one cat-file process: pipelined reads in order, missing objects, a killed git, close.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GitCatFile } from "../../src/reference/git-cat-file.ts";
import { parseCommit, parseTree } from "../../src/reference/git-objects.ts";
import { emptyRepo, type TempRepo } from "./helpers.ts";

let repo: TempRepo;
const blobs: { id: string; text: string }[] = [];

before(() => {
  repo = emptyRepo();
  for (let i = 0; i < 50; i++) {
    // Sizes up to ~200 KB so answers span many stdout chunks.
    const text = `${"x".repeat(i * 4000)}\nfile ${i}\n`;
    writeFileSync(join(repo.dir, `f${i}.txt`), text);
    blobs.push({ id: repo.git("hash-object", "-w", `f${i}.txt`), text });
  }
  repo.git("add", "--all");
  repo.git("commit", "--quiet", "--no-gpg-sign", "-m", "files\n\nbody line");
});

after(() => repo?.cleanup());

for (const batchCommand of [true, false]) {
  test(`many reads in flight come back in order and intact (batchCommand: ${batchCommand})`, async () => {
    const git = new GitCatFile(join(repo.dir, ".git"), { batchCommand });
    try {
      const got = await Promise.all(blobs.map((b) => git.read(b.id)));
      got.forEach((o, i) => {
        assert.equal(o?.type, "blob");
        assert.equal(o?.id, blobs[i]!.id);
        assert.equal(o?.data.toString("utf8"), blobs[i]!.text);
      });
      assert.equal(await git.read("0123456789abcdef0123456789abcdef01234567"), null);
      assert.equal((await git.read("refs/heads/main"))?.type, "commit");
      assert.equal(await git.read(`${(await git.read("refs/heads/main"))!.id}~1`), null);
    } finally {
      await git.close();
    }
  });
}

test("missing, ambiguous-looking and odd names are null, not errors", async () => {
  const git = new GitCatFile(join(repo.dir, ".git"));
  try {
    assert.equal(await git.read("0123456789abcdef0123456789abcdef01234567"), null);
    assert.equal(await git.read("refs/heads/nope"), null);
    assert.equal(await git.read("a b"), null);
    assert.equal(await git.read(""), null);
    const head = await git.read("refs/heads/main");
    assert.equal(head?.type, "commit");
    const c = parseCommit(head!.id, head!.data);
    assert.equal(c.message, "files\n\nbody line");
    assert.equal(c.authorName, "Test Author");
    assert.deepEqual(c.parents, []);
    const tree = parseTree(c.tree, (await git.read(c.tree))!.data);
    assert.equal(tree.entries.length, 50);
    assert.deepEqual(
      tree.entries.slice(0, 3).map((e) => e.name),
      ["f0.txt", "f1.txt", "f10.txt"],
    );
  } finally {
    await git.close();
  }
});

test("a killed git fails the reads in flight and the next read starts a new process", async () => {
  const git = new GitCatFile(join(repo.dir, ".git"));
  try {
    await git.read(blobs[0]!.id);
    const pid = git.pid!;
    // The request is written on the next microtask: the process is dead before it can answer.
    const inFlight = git.read(blobs[2]!.id);
    process.kill(pid, "SIGKILL");
    await assert.rejects(inFlight, { code: "GRIDQ_UNAVAILABLE" });
    const again = await git.read(blobs[1]!.id);
    assert.equal(again?.id, blobs[1]!.id);
    assert.notEqual(git.pid, pid);
  } finally {
    await git.close();
  }
  assert.equal(git.pid, undefined);
  await assert.rejects(git.read(blobs[0]!.id), { code: "GRIDQ_UNAVAILABLE" });
});
