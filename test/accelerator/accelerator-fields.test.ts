// Unit tests of the Accelerator job view: field map, statuses, pretty durations, envelope, CSV.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ACCELERATOR_JOB_FIELDS,
  type AcceleratorJobInput,
  acceleratorFields,
  buildEnvelope,
  formatQuery,
  parseFormat,
  parseJobId,
  parseOrder,
  parseSelect,
  prettyDuration,
  sortRows,
  statesFor,
  statusOf,
  toCsv,
} from "../../src/domain/accelerator-fields.ts";
import { GridqError } from "../../src/domain/errors.ts";

const job: AcceleratorJobInput = {
  id: 1138,
  user: "user99",
  state: "running",
  queue: "default",
  name: null,
  project: null,
  command: "sleep 123",
  resources: "core=1",
  directory: "/home/user99/work/",
  stdout: "OAR.%jobid%.stdout",
  submittedAt: 1_000.7,
  startedAt: 1_010.2,
  stoppedAt: null,
  exitCode: null,
  walltime: 3600,
  assignedNodes: [
    { node: "myhost", cores: 1 },
    { node: "other", cores: 2 },
  ],
};

test("a running job maps to the fields nc_info.py reads", () => {
  const f = acceleratorFields(job, 1_041.5);
  assert.equal(f.ID, "000001138");
  assert.equal(f.IDINT, 1138);
  assert.equal(f.USER, "user99");
  assert.equal(f.GROUP, "/time/users.user99");
  assert.equal(f.COMMAND, "sleep 123");
  assert.equal(f.STATUSNC, "Running");
  assert.equal(f.STATUS, "RUNNING");
  assert.equal(f.HOST, "myhost");
  assert.equal(f.HOSTS, "myhost,other");
  assert.equal(f.CORES, 3);
  assert.equal(f.DURATION, 31);
  assert.equal(f.DURATIONPP, "31s");
  assert.equal(f.SUBMITTIME, 1000);
  assert.equal(f.STARTTIME, 1010);
  assert.equal(f.ENDTIME, 0);
  assert.equal(f.AGE, 40);
  assert.equal(f.LOGFILE, "/home/user99/work/OAR.1138.stdout");
  assert.equal(f.DIR, "/home/user99/work/");
  assert.equal(f.EXITSTATUS, 0);
  assert.deepEqual(Object.keys(f), [...ACCELERATOR_JOB_FIELDS]);
});

test("a finished job's duration stops at its end; a queued job has none and no host", () => {
  const done = acceleratorFields({ ...job, state: "terminated", stoppedAt: 1_135.9, exitCode: 0 }, 99_999);
  assert.equal(done.DURATION, 125);
  assert.equal(done.DURATIONPP, "2m05s");
  assert.equal(done.ENDTIME, 1135);
  assert.equal(done.STATUSNC, "Done");
  const queued = acceleratorFields({ ...job, state: "waiting", startedAt: null, assignedNodes: [] }, 2_000);
  assert.equal(queued.DURATIONPP, "0s");
  assert.equal(queued.HOST, "");
  assert.equal(queued.STATUSNC, "Queued");
  const named = acceleratorFields({ ...job, name: "x", project: "p", stdout: "/abs/%jobname%.out" }, 2_000);
  assert.equal(named.LOGFILE, "/abs/x.out");
  assert.equal(named.GROUP, "p");
  assert.equal(named.JOBNAME, "x");
});

test("every gridq state has an Accelerator status; a non-zero exit is Failed", () => {
  assert.deepEqual(statusOf({ state: "waiting", exitCode: null }), {
    status: "SCHEDULED",
    statusnc: "Queued",
  });
  assert.deepEqual(statusOf({ state: "hold", exitCode: null }), {
    status: "SUSPENDED",
    statusnc: "Suspended",
  });
  assert.deepEqual(statusOf({ state: "launching", exitCode: null }), {
    status: "RETRACING",
    statusnc: "Running",
  });
  assert.deepEqual(statusOf({ state: "running", exitCode: null }), {
    status: "RUNNING",
    statusnc: "Running",
  });
  assert.deepEqual(statusOf({ state: "terminated", exitCode: 0 }), { status: "VALID", statusnc: "Done" });
  assert.deepEqual(statusOf({ state: "terminated", exitCode: 3 }), { status: "FAILED", statusnc: "Failed" });
  assert.deepEqual(statusOf({ state: "error", exitCode: null }), { status: "FAILED", statusnc: "Failed" });
});

test("pretty durations", () => {
  assert.equal(prettyDuration(0), "0s");
  assert.equal(prettyDuration(31.9), "31s");
  assert.equal(prettyDuration(59), "59s");
  assert.equal(prettyDuration(60), "1m00s");
  assert.equal(prettyDuration(125), "2m05s");
  assert.equal(prettyDuration(3599), "59m59s");
  assert.equal(prettyDuration(3720), "1h02m");
  assert.equal(prettyDuration(2 * 86400 + 3 * 3600 + 5), "2d03h");
  assert.equal(prettyDuration(-5), "0s");
});

test("job ids: leading zeros allowed, anything else is a 400", () => {
  assert.equal(parseJobId("000001138"), 1138);
  assert.equal(parseJobId("7"), 7);
  for (const bad of ["0", "-1", "abc", "1.5", "", "9".repeat(20)]) {
    assert.throws(
      () => parseJobId(bad),
      (e: unknown) => e instanceof GridqError && e.code === "GRIDQ_INVALID_ID",
    );
  }
});

test("select keeps the caller's spelling and rejects unknown fields", () => {
  assert.deepEqual(parseSelect("idint, host ,status"), [
    { field: "idint", key: "IDINT" },
    { field: "host", key: "HOST" },
    { field: "status", key: "STATUS" },
  ]);
  assert.equal(parseSelect(undefined).length, ACCELERATOR_JOB_FIELDS.length);
  assert.equal(parseSelect("*").length, ACCELERATOR_JOB_FIELDS.length);
  assert.throws(() => parseSelect("id,password"), /select: unknown field 'password'/);
  assert.throws(() => parseSelect("id,"), /unknown field ''/);
});

test("order parses FIELD [ASC|DESC] lists and sorts numbers numerically", () => {
  const keys = parseOrder("host DESC, idint");
  assert.deepEqual(keys, [
    { field: "host", key: "HOST", descending: true },
    { field: "idint", key: "IDINT", descending: false },
  ]);
  const rows = [
    { HOST: "a", IDINT: 10 },
    { HOST: "b", IDINT: 9 },
    { HOST: "a", IDINT: 2 },
  ];
  assert.deepEqual(
    sortRows(rows, keys).map((r) => r.IDINT),
    [9, 2, 10],
  );
  assert.throws(() => parseOrder("host sideways"), /order: 'host sideways'/);
  assert.throws(() => parseOrder("nope"), /unknown field 'nope'/);
});

test("the envelope numbers rows from 1 and echoes the query", () => {
  const q = formatQuery({
    select: ["idint", "host", "status"],
    from: "jobs",
    where: "status==VALID",
    order: parseOrder("host DESC"),
    limit: 10,
  });
  assert.equal(q, "SELECT idint,host,status FROM jobs WHERE status==VALID ORDERBY host DESC LIMIT 10");
  const env = buildEnvelope(
    q,
    ["idint", "host", "status"],
    [
      [1158051, "titanus", "VALID"],
      [1158058, "titanus", "VALID"],
    ],
  );
  assert.equal(
    JSON.stringify(env),
    '{"startrow":1,"endrow":2,"query":"SELECT idint,host,status FROM jobs WHERE status==VALID ORDERBY host DESC LIMIT 10","errormsg":"","columns":[{"col":0,"field":"idint"},{"col":1,"field":"host"},{"col":2,"field":"status"}],"rows":[[1158051,"titanus","VALID"],[1158058,"titanus","VALID"]]}',
  );
  const empty = buildEnvelope("SELECT id FROM jobs", ["id"], []);
  assert.equal(empty.startrow, 0);
  assert.equal(empty.endrow, 0);
});

test("csv quotes what needs quoting; csv-noheader drops the header", () => {
  const env = buildEnvelope(
    "q",
    ["id", "command"],
    [
      [1, 'echo "a,b"'],
      [2, "plain"],
    ],
  );
  assert.equal(toCsv(env, true), 'id,command\n1,"echo ""a,b"""\n2,plain\n');
  assert.equal(toCsv(env, false), '1,"echo ""a,b"""\n2,plain\n');
  assert.equal(parseFormat(undefined), "json");
  assert.equal(parseFormat("CSV"), "csv");
  assert.throws(() => parseFormat("xml"), /format: 'xml' is not one of json, csv, csv-noheader/);
});

test("statesFor narrows a status to the gridq states that can show it", () => {
  assert.deepEqual(statesFor("STATUS", "RUNNING"), ["running"]);
  assert.deepEqual(statesFor("STATUS", "FAILED"), ["terminated", "error"]);
  assert.deepEqual(statesFor("STATUS", "VALID"), ["terminated"]);
  assert.deepEqual(statesFor("STATUSNC", "Running"), ["launching", "running"]);
  assert.deepEqual(statesFor("STATUSNC", "Queued"), ["waiting"]);
  assert.deepEqual(statesFor("STATUSNC", "running"), []);
});
