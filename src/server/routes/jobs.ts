// The jobs API, Grid'5000-shaped: submit, list, read, cancel, and read a job's output.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GridqError } from "../../domain/errors.ts";
import {
  jobCollectionSchema,
  listJobsQuery,
  MAX_SAFE_ID,
  siteJobParams,
  submitJobBody,
} from "../../protocol/job-schemas.ts";
import { cancelJob } from "../../services/cancel-job.ts";
import { changeWalltime, formatDelta } from "../../services/change-walltime.ts";
import { holdOrResumeJob } from "../../services/hold-job.ts";
import { checkSite, getJob, jobEvents, type ListJobsQuery, listJobs } from "../../services/query-jobs.ts";
import { outputPaths, type SubmitJobInput, submitJobs } from "../../services/submit-job.ts";
import type { AppServices } from "../app-services.ts";
import { COLLECTION_TYPE, ITEM_TYPE, jobView } from "../job-view.ts";
import { actorOf } from "../plugins/auth.ts";

interface Params {
  site: string;
  id: number;
}

/** Grid'5000 answers its own media types unless the client asks for plain JSON. */
export function jsonType(req: FastifyRequest, vnd: string): string {
  const accept = req.headers.accept ?? "";
  return accept.includes("vnd.grid5000") ? vnd : "application/json; charset=utf-8";
}

export function absoluteUrl(req: FastifyRequest, path: string): string {
  return `${req.protocol}://${req.host}${path}`;
}

export async function jobRoutes(app: FastifyInstance, opts: { services: AppServices; mount: string }) {
  const { services, mount } = opts;
  const { deps } = services;

  app.post<{ Params: Params; Body: SubmitJobInput }>(
    "/sites/:site/jobs",
    {
      schema: {
        summary: "Submit a job",
        tags: ["jobs"],
        params: siteJobParams,
        body: submitJobBody,
        response: { 201: { $ref: "Job#" } },
      },
    },
    async (req, reply) => {
      const site = req.params.site;
      checkSite(deps, site);
      const [job] = await submitJobs(deps, services.inbox, actorOf(req), site, req.body ?? {});
      if (!job) throw new Error("no job submitted");
      const events = (await jobEvents(deps, [job.id])).get(job.id) ?? [];
      return reply
        .code(201)
        .header("Location", absoluteUrl(req, `${mount}/sites/${site}/jobs/${job.id}`))
        .type(jsonType(req, ITEM_TYPE))
        .send(jobView(mount, job, events));
    },
  );

  app.get<{ Params: Params; Querystring: ListJobsQuery }>(
    "/sites/:site/jobs",
    {
      schema: {
        summary: "List jobs, newest first",
        tags: ["jobs"],
        params: siteJobParams,
        querystring: listJobsQuery,
        response: { 200: jobCollectionSchema },
      },
    },
    async (req, reply) => {
      const site = req.params.site;
      const q = req.query;
      const { total, items } = await listJobs(deps, site, q);
      const events = await jobEvents(
        deps,
        items.map((j) => j.id),
      );
      const base = `${mount}/sites/${site}/jobs`;
      return reply.type(jsonType(req, COLLECTION_TYPE)).send({
        total,
        offset: q.offset ?? 0,
        items: items.map((j) => jobView(mount, j, events.get(j.id) ?? [])),
        links: [
          { rel: "self", href: base, type: COLLECTION_TYPE },
          { rel: "parent", href: `${mount}/sites/${site}`, type: ITEM_TYPE },
        ],
      });
    },
  );

  app.get<{ Params: Params }>(
    "/sites/:site/jobs/:id",
    {
      schema: {
        summary: "Read a job",
        tags: ["jobs"],
        params: { ...siteJobParams, required: ["site", "id"] },
        response: { 200: { $ref: "Job#" } },
      },
    },
    async (req, reply) => {
      const job = await getJob(deps, req.params.site, req.params.id);
      const events = (await jobEvents(deps, [job.id])).get(job.id) ?? [];
      return reply.type(jsonType(req, ITEM_TYPE)).send(jobView(mount, job, events));
    },
  );

  app.delete<{ Params: Params }>(
    "/sites/:site/jobs/:id",
    {
      schema: {
        summary: "Cancel a job (owner or admin); it later reaches the error state",
        tags: ["jobs"],
        params: { ...siteJobParams, required: ["site", "id"] },
      },
    },
    async (req, reply) => {
      const { site, id } = req.params;
      const job = await cancelJob(deps, services.inbox, actorOf(req), site, id);
      return reply
        .code(202)
        .header("Location", absoluteUrl(req, `${mount}/sites/${site}/jobs/${id}`))
        .header("X-Oar-Info", `Deleting the job = ${id} ...REGISTERED. (${job.state})`)
        .send();
    },
  );

  for (const action of ["hold", "resume"] as const) {
    app.post<{ Params: Params }>(
      `/sites/:site/jobs/:id/${action}`,
      {
        schema: {
          summary:
            action === "hold"
              ? "Hold a waiting job: it is not started until resumed (owner or admin; a gridq extension)"
              : "Resume a held job: it waits to be started again (owner or admin; a gridq extension)",
          tags: ["jobs"],
          params: { ...siteJobParams, required: ["site", "id"] },
          response: { 200: { $ref: "Job#" } },
        },
      },
      async (req, reply) => {
        const { site, id } = req.params;
        checkSite(deps, site);
        const job = await holdOrResumeJob(deps, services.inbox, actorOf(req), site, id, action);
        const events = (await jobEvents(deps, [job.id])).get(job.id) ?? [];
        return reply.type(jsonType(req, ITEM_TYPE)).send(jobView(mount, job, events));
      },
    );
  }

  app.get<{ Params: Params }>(
    "/sites/:site/jobs/:id/walltime",
    {
      schema: {
        summary: "A job's walltime and how much it could be extended now without delaying others",
        tags: ["jobs"],
        params: { ...siteJobParams, required: ["site", "id"] },
      },
    },
    async (req, reply) => {
      const job = await getJob(deps, req.params.site, req.params.id);
      const running = job.state === "launching" || job.state === "running";
      const possible = running ? await services.controller.grantable(job.site, job.id, 365 * 86400) : null;
      return reply.type(jsonType(req, ITEM_TYPE)).send({
        uid: job.id,
        walltime: job.walltime,
        possible: possible === null ? "UNLIMITED" : formatDelta(possible),
      });
    },
  );
  app.post<{ Params: Params; Body: { walltime?: unknown } }>(
    "/sites/:site/jobs/:id/walltime",
    {
      schema: {
        summary:
          "Change a job's walltime (`+1:30` adds, `-0:30` removes, `2:00` sets): granted as far as the plan allows",
        tags: ["jobs"],
        params: { ...siteJobParams, required: ["site", "id"] },
        body: {
          type: "object",
          required: ["walltime"],
          properties: {
            walltime: { type: "string", maxLength: 32 },
            force: {},
            delay_next_jobs: {},
            whole: {},
            timeout: {},
          },
        },
      },
    },
    async (req, reply) => {
      const { site, id } = req.params;
      const r = await changeWalltime(
        deps,
        services.controller,
        services.inbox,
        actorOf(req),
        site,
        id,
        req.body?.walltime,
      );
      return reply
        .code(202)
        .header("Location", absoluteUrl(req, `${mount}/sites/${site}/jobs/${id}/walltime`))
        .type(jsonType(req, ITEM_TYPE))
        .send({
          uid: id,
          walltime: r.job.walltime,
          requested: formatDelta(r.requested),
          granted: formatDelta(r.granted),
          status: r.granted === r.requested ? "granted" : r.granted === 0 ? "refused" : "partially granted",
          force: "NO",
          delay_next_jobs: "NO",
          whole: "NO",
          timeout: 0,
        });
    },
  );

  type OutputQuery = { stream?: "stdout" | "stderr"; offset?: number; follow?: boolean };
  app.get<{ Params: Params; Querystring: OutputQuery }>(
    "/sites/:site/jobs/:id/output",
    {
      schema: {
        summary:
          "Stream a job's output file from its head node (owner or admin; a gridq extension); with follow, until the job ends",
        tags: ["jobs"],
        params: { ...siteJobParams, required: ["site", "id"] },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            stream: { type: "string", enum: ["stdout", "stderr"], default: "stdout" },
            offset: { type: "integer", minimum: 0, maximum: MAX_SAFE_ID, default: 0 },
            follow: { type: "boolean", default: false },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Params: Params; Querystring: OutputQuery }>, reply: FastifyReply) => {
      const actor = actorOf(req);
      const job = await getJob(deps, req.params.site, req.params.id);
      if (job.user !== actor.name && !actor.admin) {
        throw new GridqError("GRIDQ_FORBIDDEN", `the output of job ${job.id} belongs to ${job.user}`);
      }
      const stream = req.query.stream ?? "stdout";
      const path = outputPaths(job)[stream];
      const node = job.assignedNodes[0]?.node;
      const started = job.startedAt !== null || (job.state === "error" && node !== undefined);
      // Output stays on the node: it is read there by the job's head-node agent.
      const body =
        started && node
          ? await services.port.readOutput(node, {
              path,
              offset: req.query.offset ?? 0,
              follow: Boolean(req.query.follow) && (job.state === "running" || job.state === "launching"),
              jobId: job.id,
              user: job.user,
            })
          : null;
      if (body === "unreachable") {
        throw new GridqError(
          "GRIDQ_UNAVAILABLE",
          `node ${node} is not connected: the output of job ${job.id} stays there`,
        );
      }
      if (!body) throw new GridqError("GRIDQ_NOT_FOUND", `job ${job.id} has no ${stream} yet (${job.state})`);
      if ("refused" in body) throw new GridqError("GRIDQ_FORBIDDEN", body.refused);
      return reply
        .type("text/plain; charset=utf-8")
        .header("X-Gridq-Job-State", job.state)
        .header("Cache-Control", "no-store")
        .send(body);
    },
  );
}
