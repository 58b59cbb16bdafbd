// The status API, Grid'5000-shaped (§4.1): per node hard and soft states, slots and reservations.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GridqError } from "../../domain/errors.ts";
import { checkSite } from "../../services/query-jobs.ts";
import { type StatusOptions, siteStatus } from "../../services/site-status.ts";
import type { AppServices } from "../app-services.ts";
import { ITEM_TYPE, jobView } from "../job-view.ts";
import { jsonType } from "./jobs.ts";

interface StatusQuery {
  nodes?: string;
  disks?: string;
  vlans?: string;
  subnets?: string;
  waiting?: string;
  job_details?: string;
  network_address?: string;
  queues?: string;
}

const yesNo = { type: "string", enum: ["yes", "no"] } as const;
const querystring = {
  type: "object",
  properties: {
    nodes: yesNo,
    disks: yesNo,
    vlans: yesNo,
    subnets: yesNo,
    waiting: { ...yesNo, description: "no: hide planned (waiting) jobs" },
    job_details: { ...yesNo, description: "no: drop reservations" },
    network_address: { type: "string", maxLength: 255 },
    queues: { type: "string", maxLength: 255 },
  },
} as const;
const name = { type: "string", pattern: "^[A-Za-z0-9_.-]{1,64}$" } as const;

export async function statusRoutes(app: FastifyInstance, opts: { services: AppServices; mount: string }) {
  const { services, mount } = opts;
  const { deps } = services;
  const sources = {
    liveness: (site: string) => services.controller.nodeStatus(site),
    plannedNodes: (site: string) => services.controller.plannedNodes(site),
  };

  type Req = FastifyRequest<{ Params: { site: string; cluster?: string }; Querystring: StatusQuery }>;
  const handler = (kind: "site" | "cluster") => async (req: Req, reply: FastifyReply) => {
    const { site, cluster } = req.params;
    const q = req.query;
    checkSite(deps, site);
    if (cluster !== undefined && !deps.nodes.nodes(site).some((n) => n.cluster === cluster)) {
      throw new GridqError("GRIDQ_NOT_FOUND", `Cannot find resource /sites/${site}/clusters/${cluster}`);
    }
    const o: StatusOptions = {
      waiting: q.waiting !== "no",
      jobDetails: q.job_details !== "no",
      ...(cluster !== undefined ? { cluster } : {}),
      ...(q.network_address !== undefined ? { networkAddress: q.network_address } : {}),
    };
    const path =
      cluster === undefined ? `${mount}/sites/${site}` : `${mount}/sites/${site}/clusters/${cluster}`;
    const body: Record<string, unknown> = {
      uid: Math.floor(deps.clock.now()),
      links: [
        { rel: "self", href: `${path}/status`, type: ITEM_TYPE },
        { rel: "parent", href: path, type: ITEM_TYPE },
      ],
    };
    if (q.nodes !== "no") {
      const nodes = await siteStatus(deps, sources, site, o);
      body.nodes = Object.fromEntries(
        Object.entries(nodes).map(([k, v]) => {
          const { reservations, ...rest } = v;
          if (!reservations) return [k, rest];
          return [
            k,
            {
              ...rest,
              reservations: reservations.map((j) => {
                const { events: _e, links: _l, ...job } = jobView(mount, j, []);
                return job;
              }),
            },
          ];
        }),
      );
    }
    // gridq has no disks, vlans or subnets to report: empty, as a site without any.
    if (q.disks !== "no") body.disks = {};
    if (kind === "site") {
      if (q.vlans !== "no") body.vlans = {};
      if (q.subnets !== "no") body.subnets = {};
    }
    return reply.type(jsonType(req, ITEM_TYPE)).send(body);
  };

  app.get(
    "/sites/:site/status",
    {
      schema: {
        summary: "Status of a site's nodes: hard and soft states, slots, current and planned jobs",
        tags: ["status"],
        params: { type: "object", required: ["site"], properties: { site: name } },
        querystring,
      },
    },
    handler("site"),
  );
  app.get(
    "/sites/:site/clusters/:cluster/status",
    {
      schema: {
        summary: "Status of a cluster's nodes: hard and soft states, slots, current and planned jobs",
        tags: ["status"],
        params: {
          type: "object",
          required: ["site", "cluster"],
          properties: { site: name, cluster: name },
        },
        querystring,
      },
    },
    handler("cluster"),
  );
}
