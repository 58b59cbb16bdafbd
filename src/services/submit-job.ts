// Use case: submit a job. Validates the request against the site and queues, stores it durably.

import { GridqError } from "../domain/errors.ts";
import { expandOutputPattern, type JobRecord, type NewJob } from "../domain/job.ts";
import { fitsAtAll, unsupportedPart } from "../domain/placement.ts";
import { DEFAULT_QUEUES } from "../domain/queues.ts";
import { parseResourceRequest, parseWalltime, type ResourceRequest } from "../domain/resource-request.ts";
import type { SubmitJobRequest } from "../protocol/job-types.ts";
import type { Actor, ServiceDeps } from "./context.ts";

/** A submission as it arrives: every field optional, checked here (the wire type names them). */
export type SubmitJobInput = Partial<SubmitJobRequest>;

const LEVEL_WORD = /(^|[,+/{}\s])(nodes?|host|network_address|cpu|cores?|gpu)\s*=/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** gridq's default request is one core (the choice), where OAR's is `nodes=1`. */
export function requestOf(resources: string | undefined): ResourceRequest {
  const text = (resources ?? "").trim();
  return parseResourceRequest(LEVEL_WORD.test(text) ? text : text ? `core=1,${text}` : "core=1");
}

const invalid = (field: string, why: string): GridqError =>
  new GridqError("GRIDQ_VALIDATION", `${field}: ${why}`, { field });

export async function submitJob(deps: ServiceDeps, actor: Actor, site: string, input: SubmitJobInput) {
  const command = input.command?.trim() ?? "";
  if (input.reservation !== undefined) {
    throw invalid("reservation", "advance reservations are not supported yet");
  }
  if (command === "") throw invalid("command", "you must give a command to execute on launch");
  if (command.includes("\0")) throw invalid("command", "must not contain a NUL character");
  const request = requestOf(input.resources);
  let walltime = request.walltime;
  if (input.walltime !== undefined) {
    if (walltime !== null) throw invalid("walltime", "given both in `resources` and as a field");
    if (typeof input.walltime === "number") {
      if (!Number.isInteger(input.walltime) || input.walltime <= 0) {
        throw new GridqError("GRIDQ_INVALID_WALLTIME", "walltime: a number must be whole seconds above 0");
      }
      walltime = input.walltime;
    } else walltime = parseWalltime(input.walltime);
  }
  const queueName = input.queue ?? "default";
  const queue = DEFAULT_QUEUES.find((q) => q.name === queueName);
  if (!queue) {
    throw invalid(
      "queue",
      `unknown queue '${queueName}' (known: ${DEFAULT_QUEUES.map((q) => q.name).join(", ")})`,
    );
  }
  if (queue.adminOnly && !actor.admin) {
    throw new GridqError("GRIDQ_FORBIDDEN", `queue '${queueName}' is for admins only`);
  }
  const unsupported = unsupportedPart(request);
  if (unsupported) {
    throw new GridqError(
      "GRIDQ_INVALID_RESOURCES",
      `resources '${request.text}': ${unsupported} is not supported by this scheduler yet (nodes=N, core=N, nodes=N/core=M are)`,
    );
  }
  const nodes = deps.nodes.nodes(site);
  if (!fitsAtAll(request, nodes)) {
    const total = nodes.reduce((s, n) => s + n.cores, 0);
    throw new GridqError(
      "GRIDQ_UNSATISFIABLE",
      `resources '${request.text}' can never be satisfied on site '${site}' (${nodes.length} node(s), ${total} core(s))`,
    );
  }
  const directory = input.directory ?? deps.config.jobs.defaultDirectory;
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
    properties: input.properties ?? null,
    types: input.types ?? [],
    walltime: walltime ?? deps.config.jobs.defaultWalltime,
    directory,
    stdout: input.stdout ?? "OAR.%jobid%.stdout",
    stderr: input.stderr ?? "OAR.%jobid%.stderr",
    env,
    submittedAt: deps.clock.now(),
    hold: input.hold === true,
  };
  return deps.store.insertJob(job, { at: job.submittedAt, description: `submitted by ${actor.name}` });
}

/** Absolute paths of a job's output files. */
export function outputPaths(job: JobRecord): { stdout: string; stderr: string } {
  const abs = (p: string) => {
    const e = expandOutputPattern(p, job);
    return e.startsWith("/") ? e : `${job.directory.replace(/\/$/, "")}/${e}`;
  };
  return { stdout: abs(job.stdout), stderr: abs(job.stderr) };
}
