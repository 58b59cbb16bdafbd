// Native authentication and user administration: tokens for the CLI and SDK, users for admins.

import type { FastifyInstance } from "fastify";
import { GridqError } from "../../domain/errors.ts";
import { createUser } from "../../services/auth.ts";
import { deleteUser, revokeTokens, setUserDisabled, userView } from "../../services/users.ts";
import type { AppServices } from "../app-services.ts";
import { actorOf, passwordActor } from "../plugins/auth.ts";

const userParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

export async function authRoutes(app: FastifyInstance, opts: { services: AppServices }) {
  const { services } = opts;

  app.post<{ Body: { username?: string; password?: string; expires_in?: number } | undefined }>(
    "/auth/token",
    {
      config: { public: true },
      // `curl -X POST -u user:password .../auth/token` sends no body: that is an empty one.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        summary:
          "Issue a bearer token (credentials as Basic auth, or username/password in the body; with a bearer token, one that expires no later than it)",
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
    async (req, reply) => {
      const b = req.body ?? {};
      let actor = req.actor;
      if (b.username !== undefined || b.password !== undefined) {
        if (!b.username || b.password === undefined) {
          throw new GridqError("GRIDQ_VALIDATION", "body: give both username and password");
        }
        actor = await passwordActor(services.auth, req, reply, b.username, b.password);
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
      services.auth.userChanged(u.name);
      return reply.code(201).send(userView(u));
    },
  );

  app.get("/users", { schema: { summary: "List users (admins only)", tags: ["auth"] } }, async (req) => {
    if (!actorOf(req).admin) throw new GridqError("GRIDQ_FORBIDDEN", "only admins may list users");
    const users = await services.deps.store.listUsers();
    return { total: users.length, items: users.map(userView) };
  });

  app.delete<{ Params: { name: string } }>(
    "/users/:name",
    {
      schema: {
        summary:
          "Delete a user: their password and tokens stop working at once; their jobs stay (admins only)",
        tags: ["auth"],
        params: userParams,
      },
    },
    async (req, reply) => {
      await deleteUser(services.deps, services.auth, actorOf(req), req.params.name);
      return reply.code(204).send();
    },
  );

  app.patch<{ Params: { name: string }; Body: { disabled: boolean } }>(
    "/users/:name",
    {
      schema: {
        summary: "Disable a user (password and tokens refused) or enable them again (admins only)",
        tags: ["auth"],
        params: userParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["disabled"],
          properties: { disabled: { type: "boolean" } },
        },
      },
    },
    async (req) =>
      userView(
        await setUserDisabled(services.deps, services.auth, actorOf(req), req.params.name, req.body.disabled),
      ),
  );

  app.post<{ Params: { name: string } }>(
    "/users/:name/revoke-tokens",
    {
      schema: {
        summary:
          "Revoke every token of a user issued until now, jobs' included (the user themself, or an admin)",
        tags: ["auth"],
        params: userParams,
      },
    },
    async (req) => userView(await revokeTokens(services.deps, services.auth, actorOf(req), req.params.name)),
  );
}
