// The user's own folder in the jobs folder, made by the agent for the job's account: only in a
// folder no one else can write to, never through a symlink, never one of another account.

import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { prepareUserFolder } from "../../src/agent/job-folder.ts";
import { findAccount } from "../../src/agent/unix-account.ts";
import { tempDir } from "../helpers/gridq-process.ts";

const isRoot = process.getuid?.() === 0;
const other = findAccount("nobody");

test("the folder is made 0700 for the account, and found again", () => {
  const jobs = tempDir("gridq-jobs-");
  chmodSync(jobs, 0o711);
  const account = isRoot ? other : null;
  prepareUserFolder(join(jobs, "alice"), account);
  const st = lstatSync(join(jobs, "alice"));
  assert.equal(st.mode & 0o777, 0o700);
  assert.equal(st.uid, account?.uid ?? process.getuid?.());
  prepareUserFolder(join(jobs, "alice"), account);
});

test("a jobs folder others can write to is refused: they could plant what the agent then uses", () => {
  const jobs = tempDir("gridq-jobs-");
  chmodSync(jobs, 0o1777);
  assert.throws(() => prepareUserFolder(join(jobs, "alice"), null), /writable by it alone/);
  assert.throws(() => prepareUserFolder(join(jobs, "missing", "alice"), null), /does not exist/);
});

test("a symlink or a folder of another account in its place is refused", {
  skip: isRoot && other ? false : "needs root and a 'nobody' account (to own a folder as someone else)",
}, () => {
  const jobs = tempDir("gridq-jobs-");
  chmodSync(jobs, 0o711);
  symlinkSync("/etc", join(jobs, "eve"));
  assert.throws(() => prepareUserFolder(join(jobs, "eve"), other), /is not a folder/);
  mkdirSync(join(jobs, "bob"));
  assert.throws(() => prepareUserFolder(join(jobs, "bob"), other), /belongs to another account/);
  assert.equal(lstatSync("/etc").uid, 0, "nothing was chowned through the link");
});
