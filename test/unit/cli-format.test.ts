// CLI output: durations, job info/table rendering, JSON vs human mode, and shell quoting via /bin/sh.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import {
  formatJobInfo,
  formatJobTable,
  jobDuration,
  makeOutput,
  prettyDuration,
} from "../../src/cli/output.ts";
import { shellJoin } from "../../src/cli/shell-quote.ts";
import type { JobView } from "../../src/protocol/job-types.ts";

test("prettyDuration", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1s"],
    [59, "59s"],
    [59.99, "59s"],
    [60, "1m00s"],
    [61, "1m01s"],
    [3599, "59m59s"],
    [3600, "1h00m00s"],
    [3661, "1h01m01s"],
    [90061, "25h01m01s"],
    [-5, "0s"],
  ];
  for (const [s, want] of cases) assert.equal(prettyDuration(s), want, `prettyDuration(${s})`);
});

const T = Date.UTC(2026, 10, 25, 12, 0, 0) / 1000;
const view = (o: Partial<JobView> = {}): JobView => ({
  uid: 12,
  user: "alice",
  user_uid: "alice",
  state: "running",
  queue: "default",
  command: "sleep 100",
  resources: "nodes=1",
  types: [],
  mode: "PASSIVE",
  walltime: 3600,
  submitted_at: T,
  started_at: T + 5,
  directory: "/home/alice",
  assigned_nodes: ["n1", "n2"],
  events: [],
  links: [],
  ...o,
});

test("jobDuration: none before start, up to now while running, fixed once stopped", () => {
  assert.equal(jobDuration(view({ started_at: undefined }), T + 100), null);
  assert.equal(jobDuration(view(), T + 100), 95);
  assert.equal(jobDuration(view({ stopped_at: T + 65 }), T + 100), 60);
});

test("formatJobInfo renders aligned label/value lines", () => {
  const text = formatJobInfo(
    view({ name: "train", exit_code: 0, stopped_at: T + 65, state: "terminated" }),
    T + 100,
  );
  const lines = text.split("\n");
  assert.equal(lines.length, 16);
  assert.equal(lines[0], `${"Job".padEnd(16)}12`);
  assert.ok(lines.includes(`${"Name".padEnd(16)}train`));
  assert.ok(lines.includes(`${"   Host".padEnd(16)}n1,n2`));
  assert.ok(lines.includes(`${"   Duration".padEnd(16)}1m00s`));
  assert.ok(lines.includes(`${"   Exit code".padEnd(16)}0`));
  assert.ok(lines.includes(`${"Walltime".padEnd(16)}1h00m00s`));
  assert.ok(lines.includes(`${"Submitted".padEnd(16)}2026-11-25 12:00:00`));
  assert.ok(lines.includes(`${"Stopped".padEnd(16)}2026-11-25 12:01:05`));
  const waiting = formatJobInfo(
    view({ state: "waiting", started_at: undefined, assigned_nodes: [] }),
    T + 100,
  ).split("\n");
  assert.ok(waiting.includes(`${"   Host".padEnd(16)}-`));
  assert.ok(waiting.includes(`${"   Duration".padEnd(16)}-`));
  assert.ok(waiting.includes(`${"Started".padEnd(16)}-`));
  assert.ok(waiting.includes(`${"Name".padEnd(16)}-`));
});

test("formatJobTable: a header and one row per job, long commands cut", () => {
  const long = `echo ${"x".repeat(60)}`;
  const rows = formatJobTable([view(), view({ uid: 13, command: long, started_at: undefined })], T + 100)
    .split("\n")
    .map((l) => l.trimEnd().split(/\s{2,}/));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0], [
    "ID",
    "USER",
    "STATE",
    "QUEUE",
    "NAME",
    "NODES",
    "SUBMITTED",
    "DURATION",
    "EXIT",
    "COMMAND",
  ]);
  assert.deepEqual(rows[1], [
    "12",
    "alice",
    "running",
    "default",
    "-",
    "n1,n2",
    "2026-11-25 12:00:00",
    "1m35s",
    "-",
    "sleep 100",
  ]);
  assert.equal(rows[2]![9], `${long.slice(0, 37)}...`);
  assert.equal(rows[2]![7], "-");
});

test("makeOutput: human text with one final newline, or indented JSON", () => {
  const got: string[] = [];
  const human = makeOutput(false, (s) => got.push(s));
  human.print("hello", { a: 1 });
  human.print("done\n", { a: 1 });
  const json = makeOutput(true, (s) => got.push(s));
  json.print("ignored", { a: [1, "x"] });
  assert.deepEqual(got, ["hello\n", "done\n", '{\n  "a": [\n    1,\n    "x"\n  ]\n}\n']);
  assert.equal(json.json, true);
  assert.equal(human.json, false);
});

/** Run `printf '[%s]\n' args...` through /bin/sh and return what it printed. */
function viaShell(args: string[]): string {
  const line = shellJoin(["printf", "[%s]\\n", ...args]);
  const r = spawnSync("/bin/sh", ["-c", line], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: "/nonexistent" },
  });
  assert.equal(r.status, 0, `sh failed on ${JSON.stringify(line)}: ${r.stderr}`);
  return r.stdout;
}
const expected = (args: string[]): string => args.map((a) => `[${a}]\n`).join("");

const NASTY = [
  "plain",
  "two words",
  "",
  "it's",
  "'",
  "''",
  "'quoted'",
  '"double"',
  '"',
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell must not expand it
  "${HOME}",
  "$(echo pwned)",
  "`echo pwned`",
  "line1\nline2",
  "\n",
  "trailing\n",
  "tab\there",
  "back\\slash",
  "\\'",
  "a;b",
  "a|b",
  "a&b",
  "a>b",
  "<",
  "*",
  "?",
  "[a]",
  "~",
  "~/x",
  "#not-a-comment",
  "!",
  "{a,b}",
  "-n",
  "--",
  "%s",
  "a=b",
  "é ü 日本",
  "  leading and trailing  ",
];

test("shellJoin round-trips nasty arguments through /bin/sh", () => {
  assert.equal(viaShell(NASTY), expected(NASTY));
  for (const a of NASTY) assert.equal(viaShell([a, a]), expected([a, a]), JSON.stringify(a));
});

test("shellJoin round-trips random arguments", () => {
  const alphabet = [
    "a",
    "Z",
    "0",
    " ",
    "'",
    '"',
    "$",
    "\\",
    "`",
    "\n",
    "\t",
    "!",
    "*",
    ";",
    "&",
    "(",
    ")",
    "=",
    "~",
    "#",
    "é",
  ];
  let s = 7;
  const next = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  for (let round = 0; round < 20; round++) {
    const args = Array.from({ length: 1 + next(6) }, () =>
      Array.from({ length: next(8) }, () => alphabet[next(alphabet.length)]).join(""),
    );
    assert.equal(viaShell(args), expected(args), JSON.stringify(args));
  }
});

test("shellJoin leaves safe words bare and a single argument as a command line", () => {
  assert.equal(shellJoin(["ls", "-la", "/tmp/a.b", "x=1,y:2@h%+"]), "ls -la /tmp/a.b x=1,y:2@h%+");
  assert.equal(shellJoin(["echo", "a b", ""]), "echo 'a b' ''");
  assert.equal(shellJoin(["echo", "it's"]), "echo 'it'\\''s'");
  assert.equal(shellJoin(["echo $HOME && ls"]), "echo $HOME && ls");
  assert.equal(shellJoin([]), "");
});
