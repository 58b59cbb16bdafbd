// Use case: submit a job. Validates the request against the site and queues, stores it durably,
// and tells the site's controller (`submitted`), which decides when it starts.

import { join } from "node:path";
import { GridqError } from "../domain/errors.ts";
import { expandOutputPattern, type JobRecord, type NewJob } from "../domain/job.ts";
import type { NodeInfo } from "../domain/node.ts";
import { parseFilter } from "../domain/properties-filter.ts";
import { maxWalltimeOf } from "../domain/queues.ts";
import { formatWalltime, parseWalltime } from "../domain/resource-request.ts";
import { BUILTIN_PROPERTIES, whyUnsatisfiable } from "../domain/resource-shape.ts";
import type { SubmitJobRequest } from "../protocol/job-types.ts";
import type { Actor, ServiceDeps } from "./context.ts";
import type { FactSink } from "./controller/facts.ts";
import { plannedRequest, requestOf } from "./plan-input.ts";
import { checkDependencies, parseArray, parseReservation } from "./submit-extras.ts";

/** A submission as it arrives: every field optional, checked here (the wire type names them). */
export type SubmitJobInput = Partial<SubmitJobRequest>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const knownCache = new WeakMap<readonly NodeInfo[], ReadonlySet<string>>();

/** Property names a filter may use on these nodes: the built-in ones and every node's own. */
export function knownProperties(nodes: readonly NodeInfo[]): ReadonlySet<string> {
  let known = knownCache.get(nodes);
  if (!known) {
    const s = new Set<string>(BUILTIN_PROPERTIES);
    for (const n of nodes) for (const k of Object.keys(n.properties)) s.add(k);
    known = s;
    knownCache.set(nodes, known);
  }
  return known;
}

const invalid = (field: string, why: string): GridqError =>
  new GridqError("GRIDQ_VALIDATION", `${field}: ${why}`, { field });

/** The `walltime` field: whole seconds (a JSON number) or OAR's `H:M:S` (text); anything else is a 400. */
function walltimeField(v: unknown): number {
  if (typeof v === "string") return parseWalltime(v);
  // A whole number too large to be exact goes on to the queue's limit, which names the limit.
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    const got =
      v === null
        ? "null"
        : Array.isArray(v)
          ? "a list"
          : typeof v === "number"
            ? String(v)
            : typeof v === "object"
              ? "an object"
              : `a ${typeof v}`;
    throw new GridqError(
      "GRIDQ_INVALID_WALLTIME",
      `walltime: expected whole seconds above 0 (a number) or H:M:S (a string), got ${got}`,
      { field: "walltime" },
    );
  }
  return v;
}

/** Submit a job; an array (`array: N`) gives its first job (see `submitJobs`). */
export async function submitJob(
  deps: ServiceDeps,
  inbox: FactSink,
  actor: Actor,
  site: string,
  input: SubmitJobInput,
): Promise<JobRecord> {
  return (await submitJobs(deps, inbox, actor, site, input))[0]!;
}

/** Submit a job, or the N jobs of an array (`array: N`), in index order. */
export async function submitJobs(
  deps: ServiceDeps,
  inbox: FactSink,
  actor: Actor,
  site: string,
  input: SubmitJobInput,
): Promise<JobRecord[]> {
  const jobs = await storeJobs(deps, actor, site, input);
  // Stored and committed: the controller may start them at once. Not awaited: the answer to the
  // submitter does not wait for the start, and the controller logs its own failures.
  void inbox.post({ type: "submitted", jobs });
  return jobs;
}

async function storeJobs(
  deps: ServiceDeps,
  actor: Actor,
  site: string,
  input: SubmitJobInput,
): Promise<JobRecord[]> {
  const command = input.command?.trim() ?? "";
  const reservationAt = parseReservation(input.reservation, deps.clock.now());
  const arraySize = parseArray(input.array);
  const dependencies = await checkDependencies(deps, site, input.dependencies);
  if (command === "") throw invalid("command", "you must give a command to execute on launch");
  if (command.includes("\0")) throw invalid("command", "must not contain a NUL character");
  // A user whose jobs could not run as their own Unix account is told now, not by a failed job.
  const noAccount = deps.accounts?.refusal(actor) ?? null;
  if (noAccount) throw new GridqError("GRIDQ_FORBIDDEN", noAccount);
  const nodes = deps.nodes.nodes(site);
  const known = knownProperties(nodes);
  const request = requestOf(input.resources, { knownProperties: known });
  const properties = input.properties?.trim() || null;
  // A filter is checked against the site's properties now: a typo is a 400, not a job that waits forever.
  const propsExpr = properties === null ? null : parseFilter(properties, { knownProperties: known });
  let walltime = request.walltime;
  if (input.walltime !== undefined) {
    if (walltime !== null) throw invalid("walltime", "given both in `resources` and as a field");
    walltime = walltimeField(input.walltime);
  }
  const queueName = input.queue ?? "default";
  const queues = deps.config.queues;
  const queue = queues.find((q) => q.name === queueName);
  if (!queue) {
    throw invalid("queue", `unknown queue '${queueName}' (known: ${queues.map((q) => q.name).join(", ")})`);
  }
  if (queue.adminOnly && !actor.admin) {
    throw new GridqError("GRIDQ_FORBIDDEN", `queue '${queueName}' is for admins only`);
  }
  const planned =
    propsExpr === null
      ? request
      : plannedRequest({ resources: request.text, properties }, request, propsExpr);
  const why = whyUnsatisfiable(planned, nodes);
  if (why) {
    const total = nodes.reduce((s, n) => s + n.cores, 0);
    const filter = properties === null ? "" : ` with properties '${properties}'`;
    throw new GridqError(
      "GRIDQ_UNSATISFIABLE",
      `resources '${request.text}'${filter} can never be satisfied on site '${site}' (${nodes.length} node(s), ${total} core(s)): ${why}`,
    );
  }
  const count = arraySize ?? 1;
  const grantedWalltime = walltime ?? deps.config.jobs.defaultWalltime;
  const maxWalltime = maxWalltimeOf(queue);
  if (grantedWalltime > maxWalltime) {
    throw new GridqError(
      "GRIDQ_INVALID_WALLTIME",
      `walltime: ${grantedWalltime} s is over the ${maxWalltime} s allowed in queue '${queue.name}' (${formatWalltime(maxWalltime)})`,
      { field: "walltime", limit: maxWalltime },
    );
  }
  if (queue.maxJobsPerUser > 0) {
    const { total } = await deps.store.listJobs({
      user: actor.name,
      queue: queue.name,
      states: ["waiting", "hold", "launching", "running"],
      offset: 0,
      limit: 0,
    });
    if (total + count > queue.maxJobsPerUser) {
      throw new GridqError(
        "GRIDQ_QUOTA_EXCEEDED",
        `queue '${queue.name}' allows ${queue.maxJobsPerUser} active jobs per user; ${actor.name} has ${total}`,
      );
    }
  }
  // Jobs that name no directory run in their user's own folder, made for the job's account.
  const directory = input.directory ?? join(deps.config.jobs.defaultDirectory, actor.name);
  if (!directory.startsWith("/")) throw invalid("directory", "must be an absolute path");
  for (const [field, v] of [
    ["directory", directory],
    ["stdout", input.stdout],
    ["stderr", input.stderr],
    ["name", input.name],
    ["project", input.project],
  ] as const) {
    if (v !== undefined && (v.includes("\0") || v.length > 4096)) {
      throw invalid(field, "must be at most 4096 characters, without NUL");
    }
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.env ?? {})) {
    if (!ENV_NAME.test(k)) throw invalid("env", `'${k}' is not a valid variable name`);
    if (typeof v !== "string" || v.includes("\0")) throw invalid("env", `value of '${k}' must be a string`);
    env[k] = v;
  }
  const job: NewJob = {
    site,
    user: actor.name,
    queue: queueName,
    name: input.name ?? null,
    project: input.project ?? null,
    command,
    resources: request.text,
    properties,
    types: input.types ?? [],
    walltime: grantedWalltime,
    directory,
    stdout: input.stdout ?? "OAR.%jobid%.stdout",
    stderr: input.stderr ?? "OAR.%jobid%.stderr",
    env,
    submittedAt: deps.clock.now(),
    hold: input.hold === true,
    dependencies,
    reservationAt,
    arrayOf: null,
    arrayIndex: arraySize === null ? null : 0,
  };
  const event = { at: job.submittedAt, description: `submitted by ${actor.name}` };
  const first = await deps.store.insertJob(job, event);
  if (arraySize === null || arraySize === 1) return [first];
  // The other jobs of the array share one group commit; their array id is the first job's id.
  const rest = await Promise.all(
    Array.from({ length: arraySize - 1 }, (_, i) =>
      deps.store.insertJob({ ...job, arrayOf: first.id, arrayIndex: i + 1 }, event),
    ),
  );
  return [first, ...rest];
}

/** Absolute paths of a job's output files. */
export function outputPaths(job: JobRecord): { stdout: string; stderr: string } {
  const abs = (p: string) => {
    const e = expandOutputPattern(p, job);
    return e.startsWith("/") ? e : `${job.directory.replace(/\/$/, "")}/${e}`;
  };
  return { stdout: abs(job.stdout), stderr: abs(job.stderr) };
}
