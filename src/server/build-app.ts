// Builds the Fastify application (no listening): shared plugins, then one plugin per resource
// mounted under /3.0, /stable and /sid.

import { randomUUID } from "node:crypto";
import formbody from "@fastify/formbody";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger as PinoLogger } from "pino";
import { GridqError } from "../domain/errors.ts";
import { errorSchema, jobSchema } from "../protocol/job-schemas.ts";
import type { AppServices } from "./app-services.ts";
import { capConnections, httpServerOptions, MAX_HEADER_SIZE, refuseSpare } from "./connection-limits.ts";
import { authPlugin } from "./plugins/auth.ts";
import { clientErrorHandler, errorsPlugin } from "./plugins/errors.ts";
import { prometheusPlugin } from "./plugins/prometheus.ts";
import { strictJsonPlugin } from "./plugins/strict-json.ts";
import { acceleratorV3Routes } from "./routes/accelerator-v3.ts";
import { agentRoutes, agentWebSocketOptions } from "./routes/agents.ts";
import { authRoutes } from "./routes/auth.ts";
import { jobExecRoutes } from "./routes/job-exec.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { type ReferenceRoutesOptions, referenceRoutes } from "./routes/reference.ts";
import { statusRoutes } from "./routes/status.ts";

export const API_MOUNTS = ["/3.0", "/stable", "/sid"] as const;

export interface BuildAppOptions {
  services: AppServices;
  logger: PinoLogger | false;
  version: string;
  /** The git-versioned reference API (its own routes under every mount); absent: not served. */
  reference?: ReferenceRoutesOptions;
  /** Certificate and key (PEM) to serve HTTPS; absent for plain HTTP. */
  https?: { cert: string; key: string } | null;
}

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const { services } = opts;
  const cfg = services.deps.config.server;
  const serverOptions = httpServerOptions(cfg);
  const app = Fastify({
    ...(opts.https
      ? { https: { cert: opts.https.cert, key: opts.https.key, ...serverOptions } }
      : { http: serverOptions }),
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: cfg.bodyLimit,
    routerOptions: { maxParamLength: 512 },
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", allErrors: false } },
    // Keep-alive: clients reuse connections; idle ones are closed after this long.
    keepAliveTimeout: cfg.keepAliveTimeout * 1000,
    requestTimeout: cfg.requestTimeout * 1000,
    forceCloseConnections: "idle",
    clientErrorHandler: clientErrorHandler(cfg.maxUrlLength, MAX_HEADER_SIZE),
  }) as unknown as FastifyInstance;
  capConnections(app.server, cfg, Boolean(opts.https));
  // A connection taken over the caps serves agents reconnecting only (connection-limits.ts).
  app.addHook("onRequest", async (req, reply) => {
    const agentRoute = req.routeOptions.config?.nodeAuth === true;
    const refused = refuseSpare(req.raw.socket, req.headers.upgrade !== undefined, agentRoute, cfg);
    if (refused) {
      reply.header("connection", "close");
      throw refused;
    }
  });

  app.addHook("onRequest", async (req, reply) => {
    reply.header("X-Request-Id", req.id);
    if (req.url.length > cfg.maxUrlLength) {
      throw new GridqError(
        "GRIDQ_URI_TOO_LONG",
        `the URL is ${req.url.length} bytes, over the ${cfg.maxUrlLength}-byte limit`,
      );
    }
  });
  // Ajv's type coercion turns `Infinity` and `1e400` into Infinity, which passes `type: integer`
  // and `maximum`: refuse such numbers here, for every route, before any handler sees them.
  app.addHook("preHandler", async (req) => {
    for (const [where, values] of [
      ["params", req.params],
      ["querystring", req.query],
      ["body", req.body],
    ] as const) {
      if (!values || typeof values !== "object") continue;
      for (const [k, v] of Object.entries(values)) {
        if (typeof v === "number" && !Number.isFinite(v)) {
          throw new GridqError("GRIDQ_VALIDATION", `${where}.${k}: must be a finite number`, { field: k });
        }
      }
    }
  });
  // Only /3.0 is documented: /stable and /sid serve the same routes.
  app.addHook("onRoute", (route) => {
    // The API documentation is public, like Grid'5000's /doc.
    if (route.url.startsWith("/3.0/apidocs")) route.config = { ...(route.config ?? {}), public: true };
    if (!route.url.startsWith("/3.0") && !route.url.startsWith("/api/v3")) {
      route.schema = { ...(route.schema ?? {}), hide: true };
    }
  });

  await app.register(errorsPlugin);
  await app.register(strictJsonPlugin);
  await app.register(formbody, { bodyLimit: cfg.bodyLimit });
  app.addSchema(jobSchema);
  app.addSchema({ ...errorSchema, $id: "Error" });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "gridq API",
        version: opts.version,
        description: "Grid'5000-compatible jobs API served by gridq",
      },
      components: {
        securitySchemes: {
          basic: { type: "http", scheme: "basic" },
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        },
      },
      security: [{ basic: [] }, { bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/3.0/apidocs", uiConfig: { docExpansion: "list" } });
  await app.register(authPlugin, { auth: services.auth, mounts: API_MOUNTS });
  await app.register(websocket, agentWebSocketOptions);
  await app.register(prometheusPlugin, { services });

  app.get("/", { config: { public: true }, schema: { hide: true } }, async () => ({
    items: API_MOUNTS.map((m) => ({
      uid: m.slice(1),
      links: [{ rel: "self", href: `${m}/`, type: "application/vnd.grid5000.item+json" }],
    })),
    total: API_MOUNTS.length,
    offset: 0,
  }));

  if (opts.reference) {
    await app.register(referenceRoutes, {
      apiVersions: API_MOUNTS.map((m) => m.slice(1)),
      ...opts.reference,
      entryPoint: false,
    });
  }
  for (const mount of API_MOUNTS) {
    await app.register(
      async (scope) => {
        await scope.register(jobRoutes, { services, mount });
        await scope.register(authRoutes, { services });
        await scope.register(agentRoutes, { services });
        await scope.register(jobExecRoutes, { services });
        await scope.register(statusRoutes, { services, mount });
      },
      { prefix: mount },
    );
  }
  await app.register(acceleratorV3Routes, { prefix: "/api/v3", services, version: opts.version });
  return app;
}
