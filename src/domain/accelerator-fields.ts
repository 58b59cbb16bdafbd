// Accelerator REST v3 views of a gridq job: the upper-case field map, the rows envelope, CSV.

import { GridqError } from "./errors.ts";
import type { JobState } from "./job-state.ts";
import { canonicalField, type FieldMap, type FieldValue } from "./selection-rule.ts";

/** The part of a gridq job the Accelerator view reads (times are UNIX seconds). */
export interface AcceleratorJobInput {
  id: number;
  user: string;
  state: JobState;
  queue: string;
  name: string | null;
  project: string | null;
  command: string;
  resources: string;
  directory: string;
  /** The stdout pattern (`OAR.%jobid%.stdout`), relative to `directory` unless absolute. */
  stdout: string;
  submittedAt: number;
  startedAt: number | null;
  stoppedAt: number | null;
  exitCode: number | null;
  walltime: number;
  assignedNodes: readonly { node: string; cores: number }[];
}

/**
 * Every field, in the order `*` lists them. Names are Accelerator's where it has one (`ID`,
 * `STATUS`, `STATUSNC`, `DURATIONPP`, the historical CSV's `SUBMITTIME`...).
 */
export const ACCELERATOR_JOB_FIELDS = [
  "ID",
  "IDINT",
  "USER",
  "GROUP",
  "PROJECT",
  "JOBNAME",
  "COMMAND",
  "STATUS",
  "STATUSNC",
  "ISJOB",
  "QUEUE",
  "RESOURCES",
  "HOST",
  "HOSTS",
  "CORES",
  "DIR",
  "LOGFILE",
  "SUBMITTIME",
  "STARTTIME",
  "ENDTIME",
  "AGE",
  "AGEPP",
  "DURATION",
  "DURATIONPP",
  "XDUR",
  "EXITSTATUS",
] as const;
export type AcceleratorJobField = (typeof ACCELERATOR_JOB_FIELDS)[number];

export const ACCELERATOR_FIELD_SET: ReadonlySet<string> = new Set(ACCELERATOR_JOB_FIELDS);

/** Accelerator's display statuses (`STATUSNC`) and the VOV statuses (`STATUS`) of gridq states. */
export function statusOf(job: Pick<AcceleratorJobInput, "state" | "exitCode">): {
  status: string;
  statusnc: string;
} {
  switch (job.state) {
    case "waiting":
      return { status: "SCHEDULED", statusnc: "Queued" };
    case "hold":
      // A held job waits for a person to release it: Accelerator shows such jobs as Suspended.
      return { status: "SUSPENDED", statusnc: "Suspended" };
    case "launching":
      // Dispatched to a node, not yet started: VOV's RETRACING, shown as Running.
      return { status: "RETRACING", statusnc: "Running" };
    case "running":
      return { status: "RUNNING", statusnc: "Running" };
    case "terminated":
      // Accelerator counts a non-zero exit as a failure; gridq's `terminated` only says it ended.
      return job.exitCode === 0
        ? { status: "VALID", statusnc: "Done" }
        : { status: "FAILED", statusnc: "Failed" };
    case "error":
      return { status: "FAILED", statusnc: "Failed" };
  }
}

/**
 * The gridq states whose jobs may show `value` in `STATUS` or `STATUSNC` (a superset: a
 * `terminated` job is VALID or FAILED by its exit code). Empty when no job can show it.
 */
export function statesFor(field: "STATUS" | "STATUSNC", value: string): JobState[] {
  const all: JobState[] = ["waiting", "hold", "launching", "running", "terminated", "error"];
  return all.filter((state) => {
    const shown = [statusOf({ state, exitCode: 0 }), statusOf({ state, exitCode: 1 })];
    return shown.some((s) => (field === "STATUS" ? s.status : s.statusnc) === value);
  });
}

const two = (n: number): string => String(n).padStart(2, "0");

/** Accelerator's pretty duration: `31s`, `2m05s`, `1h02m`, `3d04h`. Negative counts as 0. */
export function prettyDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}

/** Accelerator prints job ids with nine digits: `000001138`. */
export const formatJobId = (id: number): string => String(id).padStart(9, "0");

/** A job id from a path or a rule: digits, leading zeros allowed (`000001138` is 1138). */
export function parseJobId(text: string): number {
  const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new GridqError("GRIDQ_INVALID_ID", `job id '${text}' is not a positive integer`, { id: text });
  }
  return n;
}

const secs = (t: number | null): number => (t === null ? 0 : Math.floor(t));

function logFile(job: AcceleratorJobInput): string {
  const p = job.stdout.replaceAll("%jobid%", String(job.id)).replaceAll("%jobname%", job.name ?? "");
  return p.startsWith("/") ? p : `${job.directory.replace(/\/$/, "")}/${p}`;
}

/** Every field of a job under its canonical upper-case name. `now` is UNIX seconds. */
export function acceleratorFields(
  job: AcceleratorJobInput,
  now: number,
): Record<AcceleratorJobField, FieldValue> {
  const { status, statusnc } = statusOf(job);
  const end = job.stoppedAt ?? now;
  const duration = job.startedAt === null ? 0 : Math.max(0, Math.floor(end - job.startedAt));
  const age = Math.max(0, Math.floor(now - job.submittedAt));
  return {
    ID: formatJobId(job.id),
    IDINT: job.id,
    USER: job.user,
    // gridq has no FairShare tree: a project stands for the group, else Accelerator's default node.
    GROUP: job.project ?? `/time/users.${job.user}`,
    PROJECT: job.project ?? "",
    JOBNAME: job.name ?? "",
    COMMAND: job.command,
    STATUS: status,
    STATUSNC: statusnc,
    ISJOB: 1,
    QUEUE: job.queue,
    RESOURCES: job.resources,
    HOST: job.assignedNodes[0]?.node ?? "",
    HOSTS: job.assignedNodes.map((a) => a.node).join(","),
    CORES: job.assignedNodes.reduce((sum, a) => sum + a.cores, 0),
    DIR: job.directory,
    LOGFILE: logFile(job),
    SUBMITTIME: secs(job.submittedAt),
    STARTTIME: secs(job.startedAt),
    ENDTIME: secs(job.stoppedAt),
    AGE: age,
    AGEPP: prettyDuration(age),
    DURATION: duration,
    DURATIONPP: prettyDuration(duration),
    XDUR: job.walltime,
    EXITSTATUS: job.exitCode ?? 0,
  };
}

/** One column of a reply: `field` as the caller spelled it, `key` the canonical name. */
export interface Column {
  field: string;
  key: string;
}

/** Resolve a `select` list (`idint,host,status` or `*`) against the known fields. */
export function parseSelect(
  select: string | undefined,
  known: ReadonlySet<string> = ACCELERATOR_FIELD_SET,
): Column[] {
  const text = (select ?? "*").trim();
  if (text === "" || text === "*") return ACCELERATOR_JOB_FIELDS.map((f) => ({ field: f, key: f }));
  const out: Column[] = [];
  for (const raw of text.split(",")) {
    const field = raw.trim();
    if (field === "*") {
      out.push(...ACCELERATOR_JOB_FIELDS.map((f) => ({ field: f, key: f })));
      continue;
    }
    const key = canonicalField(field);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field) || !known.has(key)) {
      throw new GridqError("GRIDQ_UNKNOWN_FIELD", `select: unknown field '${field}'`, { field });
    }
    out.push({ field, key });
  }
  return out;
}

export interface OrderKey {
  field: string;
  key: string;
  descending: boolean;
}

/** Parse `order` (`host DESC`, `submittime, id desc`). */
export function parseOrder(
  order: string | undefined,
  known: ReadonlySet<string> = ACCELERATOR_FIELD_SET,
): OrderKey[] {
  const text = (order ?? "").trim();
  if (text === "") return [];
  return text.split(",").map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(ASC|DESC))?\s*$/i.exec(part);
    if (!m) {
      throw new GridqError("GRIDQ_BAD_REQUEST", `order: '${part.trim()}' is not 'FIELD [ASC|DESC]'`, {
        order,
      });
    }
    const key = canonicalField(m[1]!);
    if (!known.has(key))
      throw new GridqError("GRIDQ_UNKNOWN_FIELD", `order: unknown field '${m[1]}'`, { field: m[1] });
    return { field: m[1]!, key, descending: m[2]?.toUpperCase() === "DESC" };
  });
}

/** Sort field maps by the order keys (numbers numerically, strings by code point); stable. */
export function sortRows<T extends FieldMap>(rows: T[], keys: readonly OrderKey[]): T[] {
  if (keys.length === 0) return rows;
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const x = a[k.key];
      const y = b[k.key];
      let c = 0;
      if (typeof x === "number" && typeof y === "number") c = x - y;
      else {
        const sx = String(x ?? "");
        const sy = String(y ?? "");
        c = sx < sy ? -1 : sx > sy ? 1 : 0;
      }
      if (c !== 0) return k.descending ? -c : c;
    }
    return 0;
  });
}

export interface Envelope {
  startrow: number;
  endrow: number;
  query: string;
  errormsg: string;
  columns: { col: number; field: string }[];
  rows: FieldValue[][];
}

/** The reply every v3 read returns. Rows are numbered from 1; an empty reply has endrow 0. */
export function buildEnvelope(query: string, columns: readonly string[], rows: FieldValue[][]): Envelope {
  return {
    startrow: rows.length > 0 ? 1 : 0,
    endrow: rows.length,
    query,
    errormsg: "",
    columns: columns.map((field, col) => ({ col, field })),
    rows,
  };
}

/** The rebuilt statement echoed in `query`: `SELECT a,b FROM jobs WHERE r ORDERBY x DESC LIMIT n`. */
export function formatQuery(q: {
  select: readonly string[];
  from: string;
  where?: string;
  order?: readonly OrderKey[];
  limit?: number;
}): string {
  let s = `SELECT ${q.select.join(",")} FROM ${q.from}`;
  if (q.where) s += ` WHERE ${q.where}`;
  if (q.order && q.order.length > 0) {
    s += ` ORDERBY ${q.order.map((o) => (o.descending ? `${o.field} DESC` : o.field)).join(",")}`;
  }
  if (q.limit !== undefined) s += ` LIMIT ${q.limit}`;
  return s;
}

export const OUTPUT_FORMATS = ["json", "csv", "csv-noheader"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(text: string | undefined): OutputFormat {
  const f = (text ?? "json").toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f)) {
    throw new GridqError(
      "GRIDQ_BAD_REQUEST",
      `format: '${text}' is not one of ${OUTPUT_FORMATS.join(", ")}`,
      {
        format: text,
      },
    );
  }
  return f as OutputFormat;
}

const csvCell = (v: FieldValue): string => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** RFC 4180 CSV of an envelope, with or without the header line; lines end with `\n`. */
export function toCsv(env: Envelope, header: boolean): string {
  const lines: string[] = [];
  if (header) lines.push(env.columns.map((c) => csvCell(c.field)).join(","));
  for (const row of env.rows) lines.push(row.map(csvCell).join(","));
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
