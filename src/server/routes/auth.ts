// Native authentication and user administration: tokens for the CLI and SDK, users for admins.

import type { FastifyInstance } from "fastify";
import { GridqError } from "../../domain/errors.ts";
import { createUser } from "../../services/auth.ts";
import type { AppServices } from "../app-services.ts";
import { actorOf } from "../plugins/auth.ts";

export async function authRoutes(app: FastifyInstance, opts: { services: AppServices }) {
  const { services } = opts;

  app.post<{ Body: { username?: string; password?: string; expires_in?: number } | undefined }>(
    "/auth/token",
    {
      config: { public: true },
      schema: {
        summary: "Issue a bearer token (credentials as Basic auth, or username/password in the body)",
        tags: ["auth"],
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            username: { type: "string", maxLength: 64 },
            password: { type: "string", maxLength: 1024 },
            expires_in: { type: "integer", minimum: 1 },
          },
        },
      },
    },
    async (req) => {
      const b = req.body ?? {};
      let actor = req.actor;
      if (b.username !== undefined || b.password !== undefined) {
        if (!b.username || b.password === undefined) {
          throw new GridqError("GRIDQ_VALIDATION", "body: give both username and password");
        }
        actor = await services.auth.checkPassword(b.username, b.password);
      }
      if (!actor) throw new GridqError("GRIDQ_UNAUTHENTICATED", "give credentials to get a token");
      const t = await services.auth.issueToken(actor, b.expires_in);
      return { token_type: t.tokenType, access_token: t.token, expires_in: t.expiresIn, user: actor.name };
    },
  );

  app.get(
    "/auth/whoami",
    { schema: { summary: "Who the credentials belong to", tags: ["auth"] } },
    async (req) => {
      const a = actorOf(req);
      return { user: a.name, admin: a.admin };
    },
  );

  app.post<{ Body: { name: string; password: string; admin?: boolean } }>(
    "/users",
    {
      schema: {
        summary: "Create a user (admins only)",
        tags: ["auth"],
        body: {
          type: "object",
          additionalProperties: false,
          required: ["name", "password"],
          properties: {
            name: { type: "string", maxLength: 64 },
            password: { type: "string", maxLength: 1024 },
            admin: { type: "boolean" },
          },
        },
      },
    },
    async (req, reply) => {
      if (!actorOf(req).admin) throw new GridqError("GRIDQ_FORBIDDEN", "only admins may create users");
      const u = await createUser(
        services.deps,
        req.body.name,
        req.body.password,
        req.body.admin ? "admin" : "user",
      );
      return reply.code(201).send({ name: u.name, role: u.role, created_at: Math.floor(u.createdAt) });
    },
  );

  app.get("/users", { schema: { summary: "List users (admins only)", tags: ["auth"] } }, async (req) => {
    if (!actorOf(req).admin) throw new GridqError("GRIDQ_FORBIDDEN", "only admins may list users");
    const users = await services.deps.store.listUsers();
    return {
      total: users.length,
      items: users.map((u) => ({ name: u.name, role: u.role, created_at: Math.floor(u.createdAt) })),
    };
  });
}
