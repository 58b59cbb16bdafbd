// Submission fields beyond the request: dependencies (`afterok:12`), advance reservations and arrays.

import { GridqError } from "../domain/errors.ts";
import type { JobRecord } from "../domain/job.ts";
import type { ServiceDeps } from "./context.ts";

const invalid = (field: string, why: string): GridqError =>
  new GridqError("GRIDQ_VALIDATION", `${field}: ${why}`, { field });

const DEPENDENCY = /^(after|afterok|afterany):([1-9][0-9]{0,15})$/;
export const MAX_ARRAY = 10_000;

/** `["afterok:12", "after:13"]`: each job must exist on the site; returned normalized. */
export async function checkDependencies(deps: ServiceDeps, site: string, v: unknown): Promise<string[]> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > 64)
    throw invalid("dependencies", "expected a list of at most 64 'afterok:ID'");
  const out: string[] = [];
  for (const d of v) {
    const m = typeof d === "string" ? DEPENDENCY.exec(d.trim()) : null;
    if (!m) throw invalid("dependencies", `'${String(d)}' is not after:ID, afterok:ID or afterany:ID`);
    const id = Number(m[2]);
    const job = await deps.store.getJob(id);
    if (!job || job.site !== site) throw invalid("dependencies", `no job ${id} on site '${site}'`);
    out.push(`${m[1]}:${id}`);
  }
  return out;
}

/**
 * Whether a job's dependencies are met: true, false (not yet), or a message when they never
 * will be (`afterok` on a job that failed). `state` gives what is known of each job.
 */
export function dependencyStatus(
  dependencies: readonly string[],
  state: (id: number) => Pick<JobRecord, "state" | "exitCode"> | undefined,
): true | false | string {
  let met = true;
  for (const d of dependencies) {
    const [kind, idText] = d.split(":") as [string, string];
    const j = state(Number(idText));
    if (!j) continue; // forgotten since: nothing to wait for
    const ended = j.state === "terminated" || j.state === "error";
    if (kind === "after") met &&= j.state !== "waiting" && j.state !== "hold";
    else if (kind === "afterany") met &&= ended;
    else if (ended && !(j.state === "terminated" && j.exitCode === 0)) {
      return `dependency ${d} cannot be satisfied: job ${idText} ended in ${j.state}${
        j.exitCode !== null ? ` with exit code ${j.exitCode}` : ""
      }`;
    } else met &&= ended;
  }
  return met;
}

/**
 * `YYYY-MM-DD hh:mm[:ss]` in the server's local time zone (as oarsub reads it), to unix seconds.
 * A time already past is refused: a reservation is for the future.
 */
export function parseReservation(v: unknown, now: number): number | null {
  if (v === undefined || v === null) return null;
  const m =
    typeof v === "string" ? /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v.trim()) : null;
  if (!m) throw invalid("reservation", `'${String(v)}' is not 'YYYY-MM-DD hh:mm:ss'`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as number[];
  const date = new Date(y!, mo! - 1, d, h, mi, s);
  if (date.getMonth() !== mo! - 1 || date.getDate() !== d || h! > 23 || mi! > 59 || s! > 59) {
    throw invalid("reservation", `'${v}' is not a valid date and time`);
  }
  const at = Math.floor(date.getTime() / 1000);
  if (at < Math.floor(now) - 60) throw invalid("reservation", `'${v}' is in the past`);
  return at;
}

/** `array`: a whole number of jobs from 1 to MAX_ARRAY, or null. */
export function parseArray(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_ARRAY) {
    throw invalid("array", `expected a whole number of jobs from 1 to ${MAX_ARRAY}`);
  }
  return v;
}

/** Environment a job of an array sees (both gridq's and OAR's names). */
export function arrayEnv(job: Pick<JobRecord, "arrayId" | "arrayIndex">): Record<string, string> {
  if (job.arrayId === null || job.arrayIndex === null) return {};
  const id = String(job.arrayId);
  const index = String(job.arrayIndex);
  return { GRIDQ_ARRAY_ID: id, OAR_ARRAY_ID: id, GRIDQ_ARRAY_INDEX: index, OAR_ARRAY_INDEX: index };
}
