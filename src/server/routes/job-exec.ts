// `gridq exec`: run a command on one of a running job's nodes, through that node's agent (what
// oarsh gives OAR users). Confined to the job's nodes; the answer streams NDJSON events.

import type { FastifyInstance } from "fastify";
import { GridqError } from "../../domain/errors.ts";
import { siteJobParams } from "../../protocol/job-schemas.ts";
import { getJob } from "../../services/query-jobs.ts";
import type { AppServices } from "../app-services.ts";
import { actorOf } from "../plugins/auth.ts";

interface Params {
  site: string;
  id: number;
}
interface Body {
  node: string;
  command: string;
}

export async function jobExecRoutes(app: FastifyInstance, opts: { services: AppServices }) {
  const { services } = opts;
  const { deps } = services;

  app.post<{ Params: Params; Body: Body }>(
    "/sites/:site/jobs/:id/exec",
    {
      schema: {
        summary:
          "Run a command on a node of a running job (owner or admin; a gridq extension). The answer is NDJSON: {fd, data (base64)} lines, then {exit} or {error}",
        tags: ["jobs"],
        params: { ...siteJobParams, required: ["site", "id"] },
        body: {
          type: "object",
          required: ["node", "command"],
          additionalProperties: false,
          properties: {
            node: { type: "string", minLength: 1, maxLength: 64 },
            command: { type: "string", minLength: 1, maxLength: 65536 },
          },
        },
      },
    },
    async (req, reply) => {
      const actor = actorOf(req);
      const job = await getJob(deps, req.params.site, req.params.id);
      if (job.user !== actor.name && !actor.admin) {
        throw new GridqError("GRIDQ_FORBIDDEN", `job ${job.id} belongs to ${job.user}`);
      }
      if (job.state !== "running") {
        throw new GridqError("GRIDQ_CONFLICT", `job ${job.id} is ${job.state}: exec needs a running job`);
      }
      const { node, command } = req.body;
      if (!job.assignedNodes.some((a) => a.node === node)) {
        throw new GridqError(
          "GRIDQ_FORBIDDEN",
          `node ${node} is not a node of job ${job.id} (${job.assignedNodes.map((a) => a.node).join(", ")})`,
        );
      }
      const events = services.port.exec(node, {
        jobId: job.id,
        user: job.user,
        command,
        directory: job.directory,
        env: { GRIDQ_JOB_ID: String(job.id), OAR_JOB_ID: String(job.id), GRIDQ_NODE: node },
      });
      if (!events) throw new GridqError("GRIDQ_UNAVAILABLE", `node ${node} is not connected`);
      return reply.type("application/x-ndjson").header("Cache-Control", "no-store").send(events);
    },
  );
}
