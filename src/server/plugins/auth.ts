// Authentication: HTTP Basic and `Authorization: Bearer <jwt>` on every request. Routes are
// private unless their config says `public: true`; the actor is on `request.actor`.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { GridqError, isGridqError } from "../../domain/errors.ts";
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

/**
 * What a job's token (GRIDQ_TOKEN) may call, as `METHOD /path` below the API mount: read its own
 * job and run `gridq exec` on its nodes. Every other route answers 403, /auth/token included, so
 * a job cannot mint its submitter a user token. Routes with `:site`/`:id` must name its job.
 */
export const JOB_TOKEN_ROUTES: ReadonlySet<string> = new Set([
  "GET /auth/whoami",
  "GET /sites/:site/jobs/:id",
  "POST /sites/:site/jobs/:id/exec",
]);

/** Credentials checks answer 429 with the seconds to wait in `Retry-After` as well as the body. */
async function withRetryAfter<T>(reply: FastifyReply, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (e) {
    const wait = isGridqError(e) ? e.details?.retry_after : undefined;
    if (typeof wait === "number") reply.header("Retry-After", String(wait));
    throw e;
  }
}

/** A user name and password given in a request's body (token endpoints of both dialects). */
export function passwordActor(
  auth: Authenticator,
  req: FastifyRequest,
  reply: FastifyReply,
  user: string,
  password: string,
): Promise<Actor> {
  return withRetryAfter(reply, () => auth.checkPassword(user, password, req.ip));
}

export async function authenticate(
  auth: Authenticator,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Actor | null> {
  const header = req.headers.authorization;
  if (!header) return null;
  const c = parseAuthorization(header);
  if (!c)
    throw new GridqError("GRIDQ_UNAUTHENTICATED", "the Authorization header is neither Basic nor Bearer");
  return c.kind === "basic" ? passwordActor(auth, req, reply, c.user, c.password) : auth.verifyToken(c.token);
}

/** Refuse a job's token outside `JOB_TOKEN_ROUTES`, and on any job but its own. */
function checkJobScope(
  req: FastifyRequest,
  job: { site: string; id: number },
  mounts: readonly string[],
): void {
  const url = req.routeOptions.url ?? "";
  const mount = mounts.find((m) => url.startsWith(`${m}/`));
  const route = `${req.method} ${mount ? url.slice(mount.length) : url}`;
  if (!JOB_TOKEN_ROUTES.has(route)) {
    throw new GridqError(
      "GRIDQ_TOKEN_SCOPE",
      `a job's token may not call ${req.method} ${url || req.url.split("?")[0]}: it is for job ${job.id} only`,
    );
  }
  const p = (req.params ?? {}) as { site?: string; id?: string };
  if ((p.site !== undefined && p.site !== job.site) || (p.id !== undefined && Number(p.id) !== job.id)) {
    throw new GridqError("GRIDQ_TOKEN_SCOPE", `this token is job ${job.id}'s: it may not act on another job`);
  }
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { auth: Authenticator; mounts: readonly string[] }) => {
    app.decorateRequest("actor", null);
    app.addHook("onRequest", async (req, reply) => {
      if (req.routeOptions.config.nodeAuth) return;
      req.actor = await authenticate(opts.auth, req, reply);
      if (req.actor?.job) checkJobScope(req, req.actor.job, opts.mounts);
      if (!req.actor && !req.routeOptions.config.public) {
        throw new GridqError(
          "GRIDQ_UNAUTHENTICATED",
          "authentication required: use HTTP Basic or a Bearer token",
        );
      }
    });
  },
);

/** The authenticated actor of a private route. */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new GridqError("GRIDQ_UNAUTHENTICATED", "authentication required");
  return req.actor;
}
