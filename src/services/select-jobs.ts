// Use case: Accelerator-style reads of jobs (`SELECT fields FROM jobs WHERE rule ORDERBY x LIMIT n`).

import {
  ACCELERATOR_FIELD_SET,
  acceleratorFields,
  buildEnvelope,
  type Envelope,
  formatJobId,
  formatQuery,
  parseJobId,
  parseOrder,
  parseSelect,
  sortRows,
  statesFor,
} from "../domain/accelerator-fields.ts";
import { GridqError } from "../domain/errors.ts";
import type { JobRecord } from "../domain/job.ts";
import {
  evaluateSelectionRule,
  type FieldMap,
  formatSelectionRule,
  parseSelectionRule,
  type SelectionRule,
} from "../domain/selection-rule.ts";
import type { ServiceDeps } from "./context.ts";
import { type ListJobsQuery, listJobs } from "./query-jobs.ts";

/** Rows a query returns when it gives no `limit`, and the most it may ask for. */
export const DEFAULT_LIMIT = 10_000;
export const MAX_LIMIT = 100_000;
/** Jobs read from the store per page while scanning. */
const PAGE = 1000;

export interface SelectJobsInput {
  select?: string;
  from?: string;
  where?: string;
  order?: string;
  limit?: string | number;
}

/** The site Accelerator's single queue stands for: the configured site when served, else the first. */
export function queueSite(deps: ServiceDeps): string {
  const sites = deps.nodes.sites();
  return sites.includes(deps.config.site.name) ? deps.config.site.name : (sites[0] ?? deps.config.site.name);
}

/** v3 URLs carry no site: read the job wherever it lives. */
async function findJob(deps: ServiceDeps, id: number): Promise<JobRecord> {
  const job = await deps.store.getJob(id);
  if (!job) throw new GridqError("GRIDQ_UNKNOWN_JOB", `Couldn't find job with 'job_id'=${id}`, { id });
  return job;
}

/** The site of a job, for the services that take one (stop, forget). */
export async function siteOfJob(deps: ServiceDeps, idText: string): Promise<{ id: number; site: string }> {
  const id = parseJobId(idText);
  return { id, site: (await findJob(deps, id)).site };
}

/** Every field (`*`, empty) or one field of one job, as Accelerator's `/jobs/{id}[/{field}]`. */
export async function jobFieldsOf(deps: ServiceDeps, idText: string, field?: string): Promise<Envelope> {
  const id = parseJobId(idText);
  const columns = parseSelect(field === undefined || field === "" ? "*" : field);
  const job = await findJob(deps, id);
  const fields = acceleratorFields(job, deps.clock.now());
  const select = field === undefined || field === "" || field === "*" ? ["*"] : columns.map((c) => c.field);
  return buildEnvelope(
    formatQuery({ select, from: "jobs", where: `idint==${id}` }),
    columns.map((c) => c.field),
    [columns.map((c) => fields[c.key as keyof typeof fields])],
  );
}

function parseLimit(limit: string | number | undefined): number | undefined {
  if (limit === undefined || limit === "") return undefined;
  const n = typeof limit === "number" ? limit : /^\d+$/.test(limit.trim()) ? Number(limit) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new GridqError(
      "GRIDQ_BAD_REQUEST",
      `limit: '${limit}' is not a whole number from 1 to ${MAX_LIMIT}`,
      {
        field: "limit",
      },
    );
  }
  return n;
}

/**
 * Store filters implied by a rule, to read fewer jobs: only from predicates every match must
 * satisfy (the top-level AND). The rule is still evaluated on each job, so these only narrow.
 */
export function pushDown(rule: SelectionRule | null): ListJobsQuery | null {
  if (!rule) return {};
  const items = rule.kind === "and" ? rule.items : [rule];
  const q: ListJobsQuery = {};
  for (const r of items) {
    if (r.kind !== "compare" || (r.op !== "==" && r.op !== "=")) continue;
    if (r.field === "USER") q.user = r.value;
    else if (r.field === "QUEUE") q.queue = r.value;
    else if (r.field === "JOBNAME" && r.value !== "") q.name = r.value;
    else if (r.field === "STATUS" || r.field === "STATUSNC") {
      const states = statesFor(r.field, r.value);
      if (states.length === 0) return null; // no job can ever have that status
      q.state = states.join(",");
    }
  }
  return q;
}

async function* scan(deps: ServiceDeps, q: ListJobsQuery): AsyncGenerator<JobRecord> {
  // Pages are newest first: a job submitted mid-scan shifts the pages, so ids are de-duplicated.
  const seen = new Set<number>();
  for (const site of deps.nodes.sites()) {
    for (let offset = 0; ; offset += PAGE) {
      const { items } = await listJobs(deps, site, { ...q, offset, limit: PAGE });
      for (const j of items) {
        if (seen.has(j.id)) continue;
        seen.add(j.id);
        yield j;
      }
      if (items.length < PAGE) break;
    }
  }
}

/** `GET /api/v3/query`: every job (of every site) the rule selects, ordered (by id by default) and limited. */
export async function selectJobs(deps: ServiceDeps, input: SelectJobsInput): Promise<Envelope> {
  const from = (input.from ?? "jobs").trim();
  if (from.toLowerCase() !== "jobs" && from !== "System:jobs") {
    throw new GridqError("GRIDQ_BAD_REQUEST", `from: '${from}' is not a known object set (known: jobs)`, {
      field: "from",
    });
  }
  const columns = parseSelect(input.select);
  const where = (input.where ?? "").trim();
  const rule = where === "" ? null : parseSelectionRule(where, { fields: ACCELERATOR_FIELD_SET });
  const order = parseOrder(input.order);
  const limit = parseLimit(input.limit);
  const now = deps.clock.now();

  const matches: FieldMap[] = [];
  const filter = pushDown(rule);
  if (filter) {
    for await (const job of scan(deps, filter)) {
      const fields = acceleratorFields(job, now);
      if (!rule || evaluateSelectionRule(rule, fields)) matches.push(fields);
    }
  }
  const sorted = sortRows(
    matches,
    order.length > 0 ? order : [{ field: "idint", key: "IDINT", descending: false }],
  );
  const rows = sorted.slice(0, limit ?? DEFAULT_LIMIT).map((f) => columns.map((c) => f[c.key]!));
  const sel = (input.select ?? "").trim();
  const select = sel === "" || sel === "*" ? ["*"] : columns.map((c) => c.field);
  return buildEnvelope(
    formatQuery({ select, from, where: rule ? formatSelectionRule(rule) : undefined, order, limit }),
    columns.map((c) => c.field),
    rows,
  );
}

/** The new job's id, in the envelope every v3 reply uses. */
export function submittedEnvelope(job: JobRecord): Envelope {
  return buildEnvelope("SUBMIT jobs", ["ID", "IDINT"], [[formatJobId(job.id), job.id]]);
}

/** What a forget answers: the id and the status the job had. */
export function forgottenEnvelope(job: JobRecord): Envelope {
  const f = acceleratorFields(job, job.stoppedAt ?? job.submittedAt);
  return buildEnvelope(`FORGET jobs WHERE idint==${job.id}`, ["ID", "STATUS"], [[f.ID, f.STATUS]]);
}
