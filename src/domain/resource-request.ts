// The OAR resource-request grammar (`nodes=2/core=4,walltime=1:30`) and walltime parsing.

import { GridqError } from "./errors.ts";

/** One level of a resource hierarchy: `nodes=2` or `core=4`. `ALL` asks for every one. */
export interface ResourceLevel {
  type: string;
  count: number | "ALL" | "BEST";
}

/** One `+`-separated part of a request: an optional `{filter}` and its levels, outermost first. */
export interface ResourceGroup {
  filter: string | null;
  levels: ResourceLevel[];
}

export interface ResourceRequest {
  groups: ResourceGroup[];
  /** Seconds, or null when the request does not say (the queue's default applies). */
  walltime: number | null;
  /** The request as written, for display. */
  text: string;
}

/** Resource types a level may name; `host`, `node` and `nodes` are one thing. */
export const LEVEL_ALIASES: Record<string, string> = {
  nodes: "nodes",
  node: "nodes",
  host: "nodes",
  network_address: "nodes",
  cpu: "cpu",
  core: "core",
  cores: "core",
  gpu: "gpu",
};

/**
 * Parse an OAR walltime: `H`, `H:M` or `H:M:S` (hours first, as oarsub reads it); each part a
 * whole number. Returns seconds.
 */
export function parseWalltime(text: string): number {
  const t = text.trim();
  if (!/^\d+(:\d+){0,2}$/.test(t)) {
    throw new GridqError(
      "GRIDQ_INVALID_WALLTIME",
      `walltime '${text}' is not of the form H, H:M or H:M:S (hours first)`,
      { walltime: text },
    );
  }
  const [h = 0, m = 0, s = 0] = t.split(":").map(Number);
  const seconds = h * 3600 + m * 60 + s;
  if (seconds <= 0) {
    throw new GridqError("GRIDQ_INVALID_WALLTIME", `walltime '${text}' must be longer than zero`, {
      walltime: text,
    });
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

/** Find the `}` that closes the `{` at `open`, honouring quotes. */
function closingBrace(text: string, open: number): number {
  let quote: string | null = null;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "}") return i;
  }
  throw bad(text, open, "unclosed '{'");
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

function parseGroup(full: string, part: string, at: number): ResourceGroup {
  let rest = part;
  let pos = at;
  let filter: string | null = null;
  const lead = rest.length - rest.trimStart().length;
  rest = rest.trimStart();
  pos += lead;
  if (rest.startsWith("{")) {
    const close = closingBrace(rest, 0);
    filter = rest.slice(1, close).trim();
    if (filter === "") throw bad(full, pos, "empty property filter '{}'");
    rest = rest.slice(close + 1);
    pos += close + 1;
    if (rest.startsWith("/")) {
      rest = rest.slice(1);
      pos += 1;
    }
  }
  const levels: ResourceLevel[] = [];
  for (const { part: lv, at: lvAt } of splitTop(rest, "/", pos)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+|ALL|BEST)\s*$/.exec(lv);
    if (!m) throw bad(full, lvAt, `expected TYPE=COUNT (e.g. nodes=2), found '${lv.trim()}'`);
    const type = LEVEL_ALIASES[m[1]!.toLowerCase()];
    if (!type) {
      throw bad(
        full,
        lvAt,
        `unknown resource type '${m[1]}' (known: ${[...new Set(Object.values(LEVEL_ALIASES))].join(", ")})`,
      );
    }
    const count = m[2] === "ALL" || m[2] === "BEST" ? m[2] : Number(m[2]);
    if (count === 0) throw bad(full, lvAt, `'${m[1]}' must ask for at least one`);
    levels.push({ type, count });
  }
  return { filter, levels };
}

/**
 * Parse a resource request such as `{cluster='a'}/nodes=2/core=4+core=1,walltime=1:00`.
 * An empty text is the default request `nodes=1`.
 */
export function parseResourceRequest(text: string): ResourceRequest {
  const trimmed = text.trim();
  if (trimmed.length > 4096) throw bad(text, 0, "resource request longer than 4096 characters");
  let walltime: number | null = null;
  const groups: ResourceGroup[] = [];
  const parts = splitTop(trimmed, ",", 0);
  const resourcePart: { part: string; at: number }[] = [];
  for (const p of parts) {
    const m = /^\s*walltime\s*=\s*(.*)$/i.exec(p.part);
    if (m) {
      if (walltime !== null) throw bad(text, p.at, "walltime given twice");
      walltime = parseWalltime(m[1]!);
    } else resourcePart.push(p);
  }
  // A comma outside walltime separates nothing else in OAR's grammar.
  if (resourcePart.length > 1) throw bad(text, resourcePart[1]!.at, "unexpected ','");
  const spec = resourcePart[0];
  if (spec && spec.part.trim() !== "") {
    for (const g of splitTop(spec.part, "+", spec.at)) groups.push(parseGroup(text, g.part, g.at));
  } else {
    groups.push({ filter: null, levels: [{ type: "nodes", count: 1 }] });
  }
  return { groups, walltime, text: trimmed === "" ? "nodes=1" : trimmed };
}
