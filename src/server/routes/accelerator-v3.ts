// Altair Accelerator REST v3 over gridq's jobs: token, jobs, query, project, submit, stop, forget.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Envelope, parseFormat, toCsv } from "../../domain/accelerator-fields.ts";
import { GridqError } from "../../domain/errors.ts";
import { parseWalltime } from "../../domain/resource-request.ts";
import { cancelJob } from "../../services/cancel-job.ts";
import { forgetJob } from "../../services/forget-job.ts";
import {
  forgottenEnvelope,
  jobFieldsOf,
  queueSite,
  type SelectJobsInput,
  selectJobs,
  siteOfJob,
  submittedEnvelope,
} from "../../services/select-jobs.ts";
import { type SubmitJobInput, submitJob } from "../../services/submit-job.ts";
import type { AppServices } from "../app-services.ts";
import { actorOf, passwordActor } from "../plugins/auth.ts";
import { toGridqError } from "../plugins/errors.ts";

export interface AcceleratorV3Options {
  services: AppServices;
  version: string;
}

type Query = Record<string, string | undefined>;

/** OpenAPI description only: the handlers check their input themselves, in Accelerator's error shape. */
const doc = (summary: string, extra: Record<string, unknown> = {}) => ({
  summary,
  tags: ["accelerator"],
  description:
    "Altair Accelerator REST v3; replies use the {startrow, endrow, query, errormsg, columns, rows} envelope; `format=json|csv|csv-noheader`. See docs/accelerator.md.",
  ...extra,
});

/** The query string with one value per name: a repeated parameter is a 400, not a guess. */
function queryOf(req: FastifyRequest): Query {
  const q = (req.query ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(q)) {
    if (typeof v !== "string") {
      throw new GridqError(
        "GRIDQ_BAD_REQUEST",
        `${k}: give it once (got ${Array.isArray(v) ? v.length : 0} values)`,
        {
          field: k,
        },
      );
    }
  }
  return q as Query;
}

/** Send an envelope as JSON (default), CSV or CSV without the header, as `format` asks. */
function sendEnvelope(
  reply: FastifyReply,
  format: string | undefined,
  env: Envelope,
  code = 200,
): FastifyReply {
  const f = parseFormat(format);
  if (f === "json") return reply.code(code).type("application/json; charset=utf-8").send(env);
  return reply
    .code(code)
    .type("text/csv; charset=utf-8")
    .send(toCsv(env, f === "csv"));
}

/** Keys of Accelerator's VOV_JOB_DESC that gridq accepts and ignores (no gridq meaning). */
const IGNORED_KEYS = new Set([
  "wait",
  "wait,options",
  "preemptable",
  "priority,sched",
  "priority,exec",
  "profile",
  "check,directory",
  "force",
  "group",
  "group,final",
  "mailuser",
  "proplist",
  "wrapper",
  "xdur",
  "legalExit",
  "autoforget",
  "jobclass",
  "tool",
]);
const ENV_NAMES = new Set(["SNAPSHOT", "DEFAULT", "BASE", "D"]);

/** A walltime error (a queue's limit) named for the field the Accelerator client sent: `autokill`. */
function asAutokill(e: unknown): unknown {
  if (!(e instanceof GridqError) || e.details?.field !== "walltime") return e;
  return new GridqError(e.code, e.message.replace(/^walltime\b/, "autokill"), {
    ...e.details,
    field: "autokill",
  });
}

const bad = (field: string, why: string) => new GridqError("GRIDQ_VALIDATION", `${field}: ${why}`, { field });

const str = (body: Record<string, unknown>, key: string): string | undefined => {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(key, "must be a string");
  return v;
};

/** Accelerator resources (`CORES/2`) or gridq's OAR grammar (`core=2`) to gridq's request. */
export function resourcesOf(v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const list = Array.isArray(v) ? v : typeof v === "string" ? v.trim().split(/\s+/) : null;
  if (!list || list.some((x) => typeof x !== "string"))
    throw bad("resources", "must be a string or a list of strings");
  const words = list as string[];
  if (!words.some((w) => w.includes("/") && !w.includes("="))) return words.join(" ");
  return words
    .map((w) => {
      const m = /^CORES\/(\d+)$/i.exec(w);
      if (!m) {
        throw bad(
          "resources",
          `'${w}' is not supported: gridq understands CORES/n or its own grammar (core=n, nodes=n)`,
        );
      }
      return `core=${m[1]}`;
    })
    .join(",");
}

/** A VOV_JOB_DESC-style body to gridq's submission. Unknown keys are a 400 naming them. */
export function submissionOf(raw: unknown): SubmitJobInput {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw bad("body", "must be a JSON object");
  const body = raw as Record<string, unknown>;
  const known = new Set([
    "command",
    "resources",
    "env",
    "rundir",
    "logfile",
    "jobname",
    "setName",
    "autokill",
    "queue",
    "project",
  ]);
  const unknown = Object.keys(body).filter((k) => !known.has(k) && !IGNORED_KEYS.has(k));
  if (unknown.length > 0) throw bad(unknown[0]!, `unknown key (known: ${[...known].join(", ")})`);
  const input: SubmitJobInput = {};
  const command = body.command;
  if (Array.isArray(command) && command.every((c) => typeof c === "string"))
    input.command = command.join(" ");
  else input.command = str(body, "command");
  const resources = resourcesOf(body.resources);
  if (resources !== undefined) input.resources = resources;
  const env = body.env;
  if (env && typeof env === "object" && !Array.isArray(env)) input.env = env as Record<string, string>;
  else if (typeof env === "string" && !ENV_NAMES.has(env.split("+")[0]!)) {
    throw bad("env", `'${env}' is not supported: give SNAPSHOT, DEFAULT, BASE or an object of variables`);
  } else if (env !== undefined && env !== null && typeof env !== "string")
    throw bad("env", "must be a string or an object");
  const rundir = str(body, "rundir");
  if (rundir !== undefined) input.directory = rundir;
  const logfile = str(body, "logfile");
  if (logfile !== undefined) input.stdout = logfile;
  const name = str(body, "jobname") ?? str(body, "setName");
  if (name !== undefined) input.name = name;
  const queue = str(body, "queue");
  if (queue !== undefined) input.queue = queue;
  const project = str(body, "project");
  if (project !== undefined) input.project = project;
  if (body.autokill !== undefined) {
    const k = body.autokill;
    if (typeof k === "string")
      input.walltime = /^\d+$/.test(k.trim()) ? Number(k) : parseWalltime(k, "autokill");
    else if (typeof k === "number" && Number.isSafeInteger(k) && k > 0) input.walltime = k;
    else throw bad("autokill", "must be whole seconds above 0, or H:M:S");
    if (!Number.isSafeInteger(input.walltime) || (input.walltime as number) <= 0)
      throw bad("autokill", "must be whole seconds above 0, or H:M:S");
  }
  return input;
}

export async function acceleratorV3Routes(app: FastifyInstance, opts: AcceleratorV3Options) {
  const { services } = opts;
  const { deps } = services;

  // Accelerator clients read `error` on failure (getToken.py prints r.json()['error']).
  app.setErrorHandler((err, req, reply) => {
    const g = toGridqError(err);
    if (g.status >= 500) req.log.error({ err }, "request failed");
    if (g.status === 401) reply.header("WWW-Authenticate", 'Bearer realm="gridq"');
    return reply
      .code(g.status)
      .type("application/json; charset=utf-8")
      .send({ error: g.message, errormsg: g.message, code: g.code, status: g.status, request_id: req.id });
  });
  app.setNotFoundHandler((req, reply) => {
    const message = `no such REST v3 resource: ${req.method} ${req.url.split("?")[0]}`;
    return reply.code(404).send({ error: message, errormsg: message, code: "GRIDQ_NOT_FOUND", status: 404 });
  });

  // TCP connections this server accepted: lets clients and tests see keep-alive at work.
  let connections = 0;
  app.server.on("connection", () => {
    connections++;
  });

  app.post(
    "/token",
    {
      config: { public: true },
      schema: doc("Issue an access token (form or JSON username, password)", { security: [] }),
    },
    async (req, reply) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const username = b.username;
      const password = b.password;
      if (typeof username !== "string" || username === "" || typeof password !== "string") {
        throw new GridqError("GRIDQ_VALIDATION", "give the form fields 'username' and 'password'");
      }
      const actor = await passwordActor(services.auth, req, reply, username, password);
      const t = await services.auth.issueToken(actor);
      return { token_type: t.tokenType, access_token: t.token, expires_in: t.expiresIn };
    },
  );

  const oneJob = async (req: FastifyRequest, reply: FastifyReply) => {
    actorOf(req);
    const p = req.params as { id: string; field?: string; "*"?: string };
    const field = p.field ?? p["*"];
    if (field?.includes("/")) {
      throw new GridqError("GRIDQ_NOT_FOUND", `no such REST v3 resource: jobs/${p.id}/${field}`);
    }
    return sendEnvelope(reply, queryOf(req).format, await jobFieldsOf(deps, p.id, field));
  };
  app.get("/jobs/:id", { schema: doc("Every field of a job (also /jobs/{id}/ and /jobs/{id}/*)") }, oneJob);
  app.get("/jobs/:id/:field", { schema: doc("One field of a job (or a comma list of fields)") }, oneJob);
  // `/jobs/{id}/` (empty) and anything deeper, which is answered 404.
  app.get("/jobs/:id/*", { schema: { hide: true } }, oneJob);

  app.get(
    "/query",
    { schema: doc("SELECT fields FROM jobs WHERE rule ORDERBY field LIMIT n") },
    async (req, reply) => {
      actorOf(req);
      const q: SelectJobsInput & Query = queryOf(req);
      return sendEnvelope(reply, q.format, await selectJobs(deps, q));
    },
  );

  const project = async (req: FastifyRequest, reply: FastifyReply) => {
    actorOf(req);
    const p = req.params as { pid: string; field?: string };
    if (p.pid !== "1")
      throw new GridqError("GRIDQ_NOT_FOUND", `no project ${p.pid}: this server has project 1`);
    const values: Record<string, string | number> = {
      PROJECT: queueSite(deps),
      VERSION: `gridq ${opts.version}`,
      CONNECTIONS: connections,
    };
    const names = p.field ? [p.field] : Object.keys(values);
    const row = names.map((n) => {
      const v = values[n.toUpperCase()];
      if (v === undefined) {
        throw new GridqError(
          "GRIDQ_UNKNOWN_FIELD",
          `project: unknown field '${n}' (known: project, version, connections)`,
        );
      }
      return v;
    });
    const env: Envelope = {
      startrow: 1,
      endrow: 1,
      query: `SELECT ${p.field ?? "*"} FROM ${p.pid}`,
      errormsg: "",
      columns: names.map((field, col) => ({ col, field: p.field ? field.toUpperCase() : field })),
      rows: [row],
    };
    return sendEnvelope(reply, queryOf(req).format, env);
  };
  // `projects/1` (plural) appears in Altair's Python module docs; every example says `project/1`.
  for (const base of ["/project", "/projects"]) {
    const hide = base === "/projects";
    app.get(
      `${base}/:pid`,
      { schema: hide ? { hide } : doc("The queue's fields: project, version, connections") },
      project,
    );
    app.get(
      `${base}/:pid/:field`,
      { schema: hide ? { hide } : doc("One field of the queue (project, version, connections)") },
      project,
    );
  }

  app.post(
    "/jobs",
    {
      schema: doc(
        "Submit a job (VOV_JOB_DESC-style JSON: command, resources, env, rundir, logfile, jobname...)",
      ),
    },
    async (req, reply) => {
      const site = queueSite(deps);
      const input = submissionOf(req.body);
      const job = await submitJob(deps, services.inbox, actorOf(req), site, input).catch((e: unknown) => {
        throw "autokill" in (req.body as object) ? asAutokill(e) : e;
      });
      return sendEnvelope(reply, queryOf(req).format, submittedEnvelope(job), 201);
    },
  );

  // Stop: the owner (or an admin) ends a queued or running job, as `nc stop`.
  app.put("/jobs/:id", { schema: doc("Stop a job (owner or admin)") }, async (req, reply) => {
    const b = req.body as Record<string, unknown> | undefined;
    const action = b && typeof b === "object" ? (b.action ?? "stop") : "stop";
    if (typeof action !== "string") throw bad("action", "must be a string (stop)");
    if (action !== "stop") throw bad("action", `'${action.slice(0, 64)}' is not supported (stop)`);
    const actor = actorOf(req);
    const { id, site } = await siteOfJob(deps, (req.params as { id: string }).id);
    const job = await cancelJob(deps, services.inbox, actor, site, id);
    return sendEnvelope(
      reply,
      queryOf(req).format,
      await jobFieldsOf(deps, String(job.id), "ID,STATUS,STATUSNC"),
    );
  });

  // Forget: remove a finished job from the queue, as `nc forget`.
  app.delete("/jobs/:id", { schema: doc("Forget a finished job (owner or admin)") }, async (req, reply) => {
    const actor = actorOf(req);
    const { id, site } = await siteOfJob(deps, (req.params as { id: string }).id);
    const job = await forgetJob(deps, actor, site, id);
    return sendEnvelope(reply, queryOf(req).format, forgottenEnvelope(job));
  });
}
