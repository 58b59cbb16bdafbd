// Routes of the git-versioned reference API (/3.0, /stable, /sid): negotiation, caching, versions.

import { createHash } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import fresh from "fresh";
import Negotiator from "negotiator";
import { GridqError } from "../../domain/errors.ts";
import { BoundedMap } from "../../reference/bounded-map.ts";
import {
  type ReferenceOptions,
  ReferenceReader,
  type Representation,
  type Selector,
} from "../../reference/reference-reader.ts";
import { ALL_QUEUES, httpDate, MEDIA, parseSegments } from "../../reference/representation.ts";

export interface ReferenceRoutesOptions {
  /** A reader shared with the rest of the server (e.g. the scheduler); the plugin does not close it. */
  reference?: ReferenceReader;
  /** Or a repository folder: the plugin opens a reader and closes it with the server. */
  repo?: string;
  prefix?: string;
  branch?: string;
  refreshIntervalMs?: number;
  /** Reads need no authentication (default true). */
  publicReads?: boolean;
  /** API version path prefixes (default 3.0, stable, sid). */
  apiVersions?: readonly string[];
  /** Serve `/` as the list of API versions (default true). */
  entryPoint?: boolean;
  /** Load history and shared trees at start so first requests are fast (default true). */
  warm?: boolean;
}

const CACHE_SHORT = "max-age=60, public, must-revalidate, proxy-revalidate, s-maxage=60";
const CACHE_PINNED = "max-age=2592000, public";
const CACHE_VERSIONS = "max-age=60, public";
const ALLOW = "GET, HEAD";
const MAX_CACHED_BODY = 256 * 1024;
/** OpenAPI notes (read by @fastify/swagger when the app has it; Fastify itself ignores them). */
const DOC = {
  tags: ["reference"],
  summary: "Reference API: any item, collection or versions of the platform description",
  description:
    "Paths map to the git tree under the reference prefix: /sites, /sites/{site}, /sites/{site}/clusters/{cluster}/nodes/{node}... " +
    "Add /versions, /versions/{sha} or /versions/latest to any resource. Query: version, timestamp, date, branch, deep, pretty, offset, limit.",
} as const;
const HIDDEN = { hide: true } as const;
const OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;
const CONTENT_TYPE = {
  [MEDIA.json]: "application/json; charset=utf-8",
  [MEDIA.item]: `${MEDIA.item}; charset=utf-8`,
  [MEDIA.collection]: `${MEDIA.collection}; charset=utf-8`,
} as const;

interface Rendered {
  body: string;
  etag: string;
  /** HTTP-date of the version's commit, or undefined when the body has no commit. */
  lastModified: string | undefined;
}

interface Query {
  [k: string]: string | string[] | undefined;
}

export const referenceRoutes: FastifyPluginAsync<ReferenceRoutesOptions> = async (app, opts) => {
  const owned = opts.reference ? null : openReader(opts);
  const reader = opts.reference ?? owned!;
  if (owned) app.addHook("onClose", () => owned.close());
  if (opts.warm !== false) await reader.warm();
  const versions = opts.apiVersions ?? ["3.0", "stable", "sid"];
  const config = { public: opts.publicReads !== false };
  const rendered = new BoundedMap<string, Rendered>(5000);

  const render = (rep: Representation, media: string, pretty: boolean): Rendered => {
    const key = `${rep.key}\0${media}\0${pretty ? 1 : 0}`;
    let r = rendered.get(key);
    if (!r) {
      const body = pretty ? `${JSON.stringify(rep.body, null, 2)}\n` : JSON.stringify(rep.body);
      r = {
        body,
        etag: `"${createHash("sha1").update(media).update(body).digest("base64url")}"`,
        lastModified: rep.time > 0 ? httpDate(rep.time) : undefined,
      };
      // Why: bound memory by bytes too: large (deep) bodies are not kept.
      if (body.length <= MAX_CACHED_BODY) rendered.set(key, r);
    }
    return r;
  };

  const methodNotAllowed = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header("allow", ALLOW);
    throw new GridqError("GRIDQ_METHOD_NOT_ALLOWED", `Only ${ALLOW} are allowed on the reference API.`);
  };

  if (opts.entryPoint !== false) {
    app.get("/", { config }, async (req, reply) => {
      const items = versions.map((v) => ({
        uid: v,
        type: "api_version",
        links: [{ rel: "self", href: `/${v}/`, type: MEDIA.item }],
      }));
      const body = {
        total: items.length,
        offset: 0,
        items,
        links: [{ rel: "self", href: "/", type: MEDIA.collection }],
      };
      const rep: Representation = { kind: "collection", body, version: "", time: 0, key: "entry-point" };
      return send(req, reply, rep, false, render, CACHE_VERSIONS, false);
    });
    app.route({ method: [...OTHER_METHODS], url: "/", config, schema: HIDDEN, handler: methodNotAllowed });
  }

  for (const v of versions) {
    const base = `/${v}`;
    const handler = async (req: FastifyRequest, reply: FastifyReply) =>
      handle(req, reply, base, reader, render);
    for (const url of [base, `${base}/*`]) {
      app.get(url, { config, schema: DOC }, handler);
      app.route({ method: [...OTHER_METHODS], url, config, schema: HIDDEN, handler: methodNotAllowed });
    }
  }
};

function openReader(opts: ReferenceRoutesOptions): ReferenceReader {
  if (!opts.repo)
    throw new GridqError("GRIDQ_UNAVAILABLE", "The reference routes need `repo` or `reference`.");
  const o: ReferenceOptions = {
    prefix: opts.prefix,
    branch: opts.branch,
    refreshIntervalMs: opts.refreshIntervalMs,
  };
  return new ReferenceReader(opts.repo, o);
}

async function handle(
  req: FastifyRequest,
  reply: FastifyReply,
  base: string,
  reader: ReferenceReader,
  render: (rep: Representation, media: string, pretty: boolean) => Rendered,
): Promise<FastifyReply> {
  const url = req.url;
  const q = url.indexOf("?");
  const rawPath = (q < 0 ? url : url.slice(0, q)).slice(base.length);
  const parsed = parseSegments(rawPath);
  if ("error" in parsed) throw new GridqError("GRIDQ_BAD_REQUEST", parsed.error);
  const segments = parsed.segments;
  let forceJson = false;
  const last = segments[segments.length - 1];
  if (last?.endsWith(".json") && last.length > 5) {
    segments[segments.length - 1] = last.slice(0, -5);
    forceJson = true;
  }
  const query = req.query as Query;
  const pretty =
    flag(query, "pretty", true) || String(req.headers["x-rack-prettyjson"]).toLowerCase() === "yes";
  const selector: Selector = {
    version: single(query, "version"),
    timestamp: single(query, "timestamp"),
    date: single(query, "date"),
    branch: single(query, "branch") ?? headerValue(req, "x-api-reference-branch"),
  };

  const n = segments.length;
  if (n >= 1 && segments[n - 1] === "versions") {
    const resource = segments.slice(0, -1);
    const at = await reader.resolve(selector);
    const offset = intParam(query, "offset", 0);
    const limit = Math.min(intParam(query, "limit", 100), 500);
    const rep = await reader.versions(resource, at, base, offset, limit);
    return send(req, reply, rep, forceJson, render, CACHE_VERSIONS, pretty);
  }
  if (n >= 2 && segments[n - 2] === "versions") {
    const resource = segments.slice(0, -2);
    if (segments[n - 1] === "latest") {
      const sha = await reader.latest(resource, await reader.resolve(selector));
      const location = `${url.slice(0, q < 0 ? url.length : q).replace(/latest(\.json)?\/?$/, sha)}${q < 0 ? "" : url.slice(q)}`;
      reply.header("cache-control", CACHE_VERSIONS).header("vary", "Accept");
      return reply.redirect(location, 307);
    }
    const rep = await reader.version(resource, segments[n - 1]!, base);
    return send(req, reply, rep, forceJson, render, CACHE_VERSIONS, pretty);
  }
  const at = await reader.resolve(selector);
  const rep = await reader.read(segments, at, base, {
    deep: flag(query, "deep", false),
    queues: queuesParam(query, req),
  });
  return send(req, reply, rep, forceJson, render, at.pinned ? CACHE_PINNED : CACHE_SHORT, pretty);
}

function send(
  req: FastifyRequest,
  reply: FastifyReply,
  rep: Representation,
  forceJson: boolean,
  render: (rep: Representation, media: string, pretty: boolean) => Rendered,
  cacheControl: string,
  pretty: boolean,
): FastifyReply {
  const media = forceJson ? MEDIA.json : negotiate(req, rep.kind);
  const r = render(rep, media, pretty);
  reply
    .header("content-type", CONTENT_TYPE[media])
    .header("vary", "Accept")
    .header("allow", ALLOW)
    .header("etag", r.etag)
    .header("cache-control", cacheControl);
  if (r.lastModified) reply.header("last-modified", r.lastModified);
  if (fresh(req.headers, { etag: r.etag, "last-modified": r.lastModified })) {
    return reply.code(304).send();
  }
  return reply.send(r.body);
}

/** application/json unless the client prefers the Grid'5000 type of this kind; 406 if neither fits. */
function negotiate(req: FastifyRequest, kind: "item" | "collection"): (typeof MEDIA)[keyof typeof MEDIA] {
  const accept = req.headers.accept;
  if (!accept) return MEDIA.json;
  const offers = [MEDIA.json, MEDIA[kind]];
  const chosen = new Negotiator({ headers: { accept } }).mediaType(offers);
  if (!chosen) {
    throw new GridqError(
      "GRIDQ_NOT_ACCEPTABLE",
      `This resource is available as ${offers.join(" or ")} only.`,
      {
        available: offers,
      },
    );
  }
  return chosen as (typeof MEDIA)[keyof typeof MEDIA];
}

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v))
    throw new GridqError("GRIDQ_BAD_REQUEST", `Query parameter '${name}' is given more than once.`);
  return v;
}

/** `?pretty`, `?pretty=yes|true|1` are true; `no|false|0` false; absent gives `absentMeansFalse`. */
function flag(query: Query, name: string, emptyMeansTrue: boolean): boolean {
  const v = single(query, name);
  if (v === undefined) return false;
  if (v === "") return emptyMeansTrue;
  return !["false", "no", "0", "off"].includes(v.toLowerCase());
}

function intParam(query: Query, name: string, fallback: number): number {
  const v = single(query, name);
  if (v === undefined || v === "") return fallback;
  if (!/^\d{1,9}$/.test(v)) {
    throw new GridqError("GRIDQ_BAD_REQUEST", `Invalid ${name} '${v}': expected a non-negative integer.`);
  }
  return Number(v);
}

/** `?queues=a,b` (or header X-Api-Reference-Queues); `all` = admin, default, production. */
function queuesParam(query: Query, req: FastifyRequest): readonly string[] | undefined {
  const raw = single(query, "queues") ?? headerValue(req, "x-api-reference-queues");
  if (raw === undefined) return undefined;
  if (raw === "all") return ALL_QUEUES;
  if (!/^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64}){0,31}$/.test(raw)) {
    throw new GridqError(
      "GRIDQ_BAD_REQUEST",
      `Invalid queues '${raw}': expected a comma-separated list or 'all'.`,
    );
  }
  return raw.split(",");
}

function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}
