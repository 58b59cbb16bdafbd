// The OAR resource-request grammar (`nodes=2/core=4,walltime=1:30`) and walltime parsing.

import { GridqError } from "./errors.ts";
import { type FilterExpr, parseFilter } from "./properties-filter.ts";

/** One level of a resource hierarchy: `nodes=2` or `core=4`. `ALL` asks for every one. */
export interface ResourceLevel {
  type: string;
  count: number | "ALL" | "BEST";
}

/** One `+`-separated part of a request: an optional `{filter}` and its levels, outermost first. */
export interface ResourceGroup {
  /** The filter's text between the braces, as written. */
  filter: string | null;
  /** The parsed filter (the same language as `properties`), or null. */
  filterExpr: FilterExpr | null;
  levels: ResourceLevel[];
  /** 1-based position of the group in the request text. */
  position: number;
}

export interface ResourceRequest {
  groups: ResourceGroup[];
  /** Seconds, or null when the request does not say (the queue's default applies). */
  walltime: number | null;
  /** The request as written, for display. */
  text: string;
}

/** Resource types a level may name; `host`, `node` and `nodes` are one thing. */
export const LEVEL_ALIASES: Readonly<Record<string, string>> = {
  nodes: "nodes",
  node: "nodes",
  host: "nodes",
  network_address: "nodes",
  cpu: "cpu",
  core: "core",
  cores: "core",
  cpus: "cpu",
  gpu: "gpu",
  gpus: "gpu",
};

/** Levels from outermost to innermost: a request must name them in this order. */
export const LEVEL_ORDER = ["nodes", "cpu", "gpu", "core"] as const;

export interface ParseResourceOptions {
  /** Property names a `{filter}` may use; absent: any. */
  knownProperties?: ReadonlySet<string>;
}

/**
 * Parse an OAR walltime: `H`, `H:M` or `H:M:S` (hours first, as oarsub reads it); each part a
 * whole number. Returns seconds. Errors name `field`, the field the client sent it in.
 */
export function parseWalltime(text: string, field = "walltime"): number {
  const t = text.trim();
  if (!/^\d+(:\d+){0,2}$/.test(t)) {
    throw new GridqError(
      "GRIDQ_INVALID_WALLTIME",
      `${field}: '${text}' is not of the form H, H:M or H:M:S (hours first)`,
      { field },
    );
  }
  const [h = 0, m = 0, s = 0] = t.split(":").map(Number);
  const seconds = h * 3600 + m * 60 + s;
  // Beyond any queue's limit anyway; refused here so that no caller sees an inexact number.
  if (!Number.isSafeInteger(seconds)) {
    throw new GridqError("GRIDQ_INVALID_WALLTIME", `${field}: '${text}' is too long`, { field });
  }
  if (seconds <= 0) {
    throw new GridqError("GRIDQ_INVALID_WALLTIME", `${field}: '${text}' must be longer than zero`, { field });
  }
  return seconds;
}

/** Format seconds as OAR does: `H:MM:SS`. */
export function formatWalltime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

const bad = (text: string, at: number, why: string): GridqError =>
  new GridqError("GRIDQ_INVALID_RESOURCES", `${why} at position ${at + 1} of '${text}'`, {
    resources: text,
    position: at + 1,
  });

/** Find the `}` that closes the `{` at `open`, honouring quotes (a doubled quote stays inside). */
function closingBrace(text: string, open: number): number {
  let quote: string | null = null;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "}") return i;
  }
  throw bad(text, open, quote ? "unterminated string inside '{...}'" : "unclosed '{'");
}

/** Split on a separator outside quotes and braces. */
function splitTop(text: string, sep: string, offset: number): { part: string; at: number }[] {
  const out: { part: string; at: number }[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === sep && depth === 0) {
      out.push({ part: text.slice(start, i), at: offset + start });
      start = i + 1;
    }
  }
  out.push({ part: text.slice(start), at: offset + start });
  return out;
}

const LEVEL_RE = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^/\s]*)\s*$/;

/**
 * group := ['/'] ['{' filter '}' ['/']] level ('/' level)*; level := TYPE '=' (N | ALL | BEST).
 * `full` is the whole request, `at` the group's offset in it (positions point into `full`).
 */
function parseGroup(full: string, part: string, at: number, opts: ParseResourceOptions): ResourceGroup {
  let pos = at + (part.length - part.trimStart().length);
  let rest = part.trim();
  const position = pos + 1;
  if (rest === "") throw bad(full, pos, "empty resource group (nothing between '+' or ',')");
  if (rest.startsWith("/") && !rest.startsWith("/{")) {
    rest = rest.slice(1);
    pos += 1;
  } else if (rest.startsWith("/{")) {
    rest = rest.slice(1);
    pos += 1;
  }
  let filter: string | null = null;
  let filterExpr: FilterExpr | null = null;
  if (rest.startsWith("{")) {
    const close = closingBrace(full, pos) - pos;
    const inner = rest.slice(1, close);
    filter = inner.trim();
    if (filter === "") throw bad(full, pos, "empty property filter '{}'");
    filterExpr = parseFilter(inner, {
      errorCode: "GRIDQ_INVALID_RESOURCES",
      offset: pos + 1,
      fullText: full,
      ...(opts.knownProperties ? { knownProperties: opts.knownProperties } : {}),
    });
    rest = rest.slice(close + 1);
    pos += close + 1;
    const ws = rest.length - rest.trimStart().length;
    rest = rest.trimStart();
    pos += ws;
    if (rest.startsWith("/")) {
      rest = rest.slice(1);
      pos += 1;
    }
    if (rest.trim() === "") throw bad(full, pos, "expected TYPE=COUNT (e.g. nodes=2) after the filter");
  }
  const levels: ResourceLevel[] = [];
  let lastRank = -1;
  for (const { part: lv, at: lvAt0 } of splitTop(rest, "/", pos)) {
    const lvAt = lvAt0 + (lv.length - lv.trimStart().length);
    const text = lv.trim();
    if (text.startsWith("{")) throw bad(full, lvAt, "a '{filter}' must come first in its group");
    const m = LEVEL_RE.exec(text);
    if (!m) throw bad(full, lvAt, `expected TYPE=COUNT (e.g. nodes=2), found '${text}'`);
    const type = LEVEL_ALIASES[m[1]!.toLowerCase()];
    if (!type) {
      throw bad(
        full,
        lvAt,
        `unknown resource type '${m[1]}' (known: ${[...new Set(Object.values(LEVEL_ALIASES))].join(", ")})`,
      );
    }
    const countAt =
      lvAt +
      text.indexOf("=") +
      1 +
      (text.slice(text.indexOf("=") + 1).length - text.slice(text.indexOf("=") + 1).trimStart().length);
    const raw = m[2]!;
    const upper = raw.toUpperCase();
    let count: number | "ALL" | "BEST";
    if (upper === "ALL" || upper === "BEST") count = upper;
    else if (/^\d{1,9}$/.test(raw)) count = Number(raw);
    else throw bad(full, countAt, `expected a whole number, ALL or BEST, found '${raw}'`);
    if (count === 0) throw bad(full, countAt, `'${m[1]}' must ask for at least one`);
    const rank = LEVEL_ORDER.indexOf(type as (typeof LEVEL_ORDER)[number]);
    if (rank <= lastRank) {
      throw bad(
        full,
        lvAt,
        `'${m[1]}' must come before the levels it contains (order: ${LEVEL_ORDER.join("/")})`,
      );
    }
    lastRank = rank;
    levels.push({ type, count });
  }
  return { filter, filterExpr, levels, position };
}

/**
 * Parse a resource request such as `{cluster='a'}/nodes=2/core=4+core=1,walltime=1:00`.
 * An empty text (or one with only a walltime) is the default request `nodes=1`.
 */
export function parseResourceRequest(text: string, opts: ParseResourceOptions = {}): ResourceRequest {
  if (text.length > 4096) throw bad(text, 4096, "resource request longer than 4096 characters");
  let walltime: number | null = null;
  const groups: ResourceGroup[] = [];
  let sawResources = false;
  for (const p of splitTop(text, ",", 0)) {
    const wt = /^(\s*)walltime\s*=\s*(.*)$/i.exec(p.part);
    if (wt) {
      if (walltime !== null) throw bad(text, p.at + wt[1]!.length, "walltime given twice");
      try {
        walltime = parseWalltime(wt[2]!, "resources");
      } catch (e) {
        // Keep the walltime's own code, but point at it inside the request.
        if (e instanceof GridqError) {
          throw new GridqError(e.code, `${e.message} at position ${p.at + wt[1]!.length + 1} of '${text}'`, {
            ...e.details,
            resources: text,
            position: p.at + wt[1]!.length + 1,
          });
        }
        throw e;
      }
      continue;
    }
    if (p.part.trim() === "") {
      if (text.trim() === "") continue;
      throw bad(text, p.at, "empty part (two ',' in a row, or a trailing ',')");
    }
    // A comma separates the resources from the walltime; two resource parts are not OAR.
    if (sawResources) throw bad(text, p.at - 1, "unexpected ',' (join groups with '+')");
    sawResources = true;
    for (const g of splitTop(p.part, "+", p.at)) groups.push(parseGroup(text, g.part, g.at, opts));
  }
  if (groups.length === 0) {
    groups.push({ filter: null, filterExpr: null, levels: [{ type: "nodes", count: 1 }], position: 1 });
  }
  const trimmed = text.trim();
  return { groups, walltime, text: trimmed === "" ? "nodes=1" : trimmed };
}
