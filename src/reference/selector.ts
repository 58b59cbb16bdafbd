// Parsing of the time selectors (`?timestamp=`, `?date=`) into UNIX seconds, with clear 400s.

import { GridqError } from "../domain/errors.ts";

/** UNIX seconds (a decimal part is dropped). */
export function parseTimestamp(s: string): number {
  if (!/^-?\d{1,12}(\.\d+)?$/.test(s)) {
    throw new GridqError("GRIDQ_BAD_REQUEST", `Invalid timestamp '${s}': expected UNIX seconds.`);
  }
  return Math.floor(Number(s));
}

/** An ISO-8601 date (or anything `Date.parse` reads), as UNIX seconds. */
export function parseDate(s: string): number {
  const ms = Date.parse(s);
  if (!Number.isFinite(ms) || s.length > 64) {
    throw new GridqError("GRIDQ_BAD_REQUEST", `Invalid date '${s}': expected an ISO-8601 date.`);
  }
  return Math.floor(ms / 1000);
}
