// Authentication: HTTP Basic and `Authorization: Bearer <jwt>` on every request. Routes are
// private unless their config says `public: true`; the actor is on `request.actor`.

import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { GridqError } from "../../domain/errors.ts";
import type { Authenticator } from "../../services/auth.ts";
import type { Actor } from "../../services/context.ts";

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** Reachable without credentials (credentials, when given, are still checked). */
    public?: boolean;
    /** Authenticated by the route itself with a node credential (agents), not a user's. */
    nodeAuth?: boolean;
  }
}

/** Parse an Authorization header into credentials; accepts `Bearer x`, `Bearer:x` and a bare JWT. */
export function parseAuthorization(
  header: string,
): { kind: "basic"; user: string; password: string } | { kind: "bearer"; token: string } | null {
  const h = header.trim();
  const m = /^([A-Za-z]+)[ :]\s*(.+)$/.exec(h);
  if (m && m[1]!.toLowerCase() === "basic") {
    const decoded = Buffer.from(m[2]!, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) return null;
    return { kind: "basic", user: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  if (m && m[1]!.toLowerCase() === "bearer") return { kind: "bearer", token: m[2]!.trim() };
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(h)) return { kind: "bearer", token: h };
  return null;
}

export async function authenticate(auth: Authenticator, req: FastifyRequest): Promise<Actor | null> {
  const header = req.headers.authorization;
  if (!header) return null;
  const c = parseAuthorization(header);
  if (!c)
    throw new GridqError("GRIDQ_UNAUTHENTICATED", "the Authorization header is neither Basic nor Bearer");
  return c.kind === "basic" ? auth.checkPassword(c.user, c.password) : auth.verifyToken(c.token);
}

export const authPlugin = fp(async (app: FastifyInstance, opts: { auth: Authenticator }) => {
  app.decorateRequest("actor", null);
  app.addHook("onRequest", async (req) => {
    if (req.routeOptions.config.nodeAuth) return;
    req.actor = await authenticate(opts.auth, req);
    if (!req.actor && !req.routeOptions.config.public) {
      throw new GridqError(
        "GRIDQ_UNAUTHENTICATED",
        "authentication required: use HTTP Basic or a Bearer token",
      );
    }
  });
});

/** The authenticated actor of a private route. */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new GridqError("GRIDQ_UNAUTHENTICATED", "authentication required");
  return req.actor;
}
