// Agents: the WebSocket remote agents connect to, node credentials (admins), node liveness.

import type { FastifyInstance } from "fastify";
import { GridqError } from "../../domain/errors.ts";
import type { AgentToServer, ServerToAgent } from "../../protocol/agent-messages.ts";
import { MAX_AGENT_MESSAGE, webSocketChannel } from "../../protocol/websocket-channel.ts";
import { checkNodeCredential, issueNodeCredential } from "../../services/node-credentials.ts";
import { parseTime } from "../../services/node-metrics.ts";
import { checkSite } from "../../services/query-jobs.ts";
import type { AppServices } from "../app-services.ts";
import { promoteToAgent } from "../connection-limits.ts";
import { actorOf, parseAuthorization } from "../plugins/auth.ts";

const siteParams = {
  type: "object",
  required: ["site"],
  properties: { site: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,64}$" } },
} as const;
const nodeName = { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$" } as const;

export async function agentRoutes(app: FastifyInstance, opts: { services: AppServices }) {
  const { services } = opts;
  const { deps } = services;

  app.post<{ Params: { site: string; node: string } }>(
    "/sites/:site/agents/:node/credential",
    {
      schema: {
        summary: "Issue a node's agent credential, replacing the previous one (admins)",
        tags: ["agents"],
        params: {
          ...siteParams,
          required: ["site", "node"],
          properties: { ...siteParams.properties, node: nodeName },
        },
      },
    },
    async (req, reply) => {
      const c = await issueNodeCredential(deps, actorOf(req), req.params.site, req.params.node);
      // Issuing revokes the previous credential: an agent connected with it is let go now.
      services.hub.disconnect(
        req.params.node,
        "the node's credential was replaced: restart with the new one",
      );
      return reply.code(201).header("Cache-Control", "no-store").send(c);
    },
  );

  app.get<{ Params: { site: string } }>(
    "/sites/:site/agents",
    {
      schema: { summary: "Nodes of a site and their agents' liveness", tags: ["agents"], params: siteParams },
    },
    async (req) => {
      checkSite(deps, req.params.site);
      const items = services.controller.nodeStatus(req.params.site).map((n) => ({
        node: n.node,
        state: n.state,
        connected: n.connected,
        last_seen: Math.floor(n.lastSeen),
      }));
      return { total: items.length, offset: 0, items };
    },
  );

  app.get<{
    Params: { site: string };
    Querystring: { nodes?: string; metrics?: string; start_time?: string; end_time?: string };
  }>(
    "/sites/:site/metrics",
    {
      schema: {
        summary: "Nodes' samples (load, CPU, memory, jobs) in the kwollect shape: an array of points",
        tags: ["agents"],
        params: siteParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            nodes: { type: "string", maxLength: 8192 },
            metrics: { type: "string", maxLength: 4096 },
            start_time: { type: "string", maxLength: 64 },
            end_time: { type: "string", maxLength: 64 },
            summary: { type: "boolean" },
          },
        },
      },
    },
    async (req) => {
      checkSite(deps, req.params.site);
      const q = req.query;
      const list = (v: string | undefined) => (v ? v.split(",").filter(Boolean) : undefined);
      const end = q.end_time ? parseTime("end_time", q.end_time) : deps.clock.now();
      // Without a start, the last five minutes, like a dashboard's first view.
      const start = q.start_time ? parseTime("start_time", q.start_time) : end - 300;
      const nodes = list(q.nodes);
      const metrics = list(q.metrics);
      return services.hub.metrics.query(req.params.site, {
        start,
        end,
        ...(nodes ? { nodes } : {}),
        ...(metrics ? { metrics } : {}),
      });
    },
  );

  // The agents' connection. Authenticated here, before the upgrade, with the node's credential
  // (`Authorization: Bearer gqn_...`): a user's token does not make anyone a node.
  app.route<{ Params: { site: string }; Querystring: { node: string } }>({
    method: "GET",
    url: "/sites/:site/agents/connect",
    config: { nodeAuth: true },
    schema: {
      summary: "WebSocket for `gridq agent` (agent protocol, docs/agents.md)",
      tags: ["agents"],
      params: siteParams,
      querystring: {
        type: "object",
        required: ["node"],
        additionalProperties: false,
        properties: { node: nodeName },
      },
    },
    preHandler: async (req) => {
      const c = parseAuthorization(req.headers.authorization ?? "");
      const ok =
        c?.kind === "bearer" && (await checkNodeCredential(deps, req.params.site, req.query.node, c.token));
      if (!ok) {
        throw new GridqError(
          "GRIDQ_UNAUTHENTICATED",
          `no valid credential for node '${req.query.node}' of site '${req.params.site}'`,
        );
      }
      // An agent's connection leaves the users' budget: streams cannot keep nodes from reconnecting.
      promoteToAgent(req.raw.socket);
    },
    // A plain GET (no Upgrade) gets a clear error, not an empty 404.
    handler: async () => {
      throw new GridqError(
        "GRIDQ_BAD_REQUEST",
        "this is the agents' WebSocket: connect with an HTTP Upgrade",
      );
    },
    wsHandler: (socket, req) => {
      socket.on("error", () => {});
      const channel = webSocketChannel<AgentToServer, ServerToAgent>(socket, (why) =>
        deps.log.warn({ node: req.query.node, why }, "agent sent a bad frame"),
      );
      services.hub.attach(req.params.site, channel, { node: req.query.node });
    },
  });
}

export const agentWebSocketOptions = { options: { maxPayload: MAX_AGENT_MESSAGE } } as const;
