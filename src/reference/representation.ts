// Pure builders of the Grid'5000 reference shapes: links, items, collections, versions, deep views.

export const MEDIA = {
  item: "application/vnd.grid5000.item+json",
  collection: "application/vnd.grid5000.collection+json",
  json: "application/json",
} as const;

export interface Link {
  rel: string;
  href: string;
  type: string;
}

export type JsonObject = Record<string, unknown>;

/** Extra links a site or cluster item carries (served by other route sets: jobs, status...). */
export interface ExtraLinks {
  site: readonly { rel: string; kind: "item" | "collection" }[];
  cluster: readonly { rel: string; kind: "item" | "collection" }[];
}

export const DEFAULT_EXTRA_LINKS: ExtraLinks = {
  site: [
    { rel: "jobs", kind: "collection" },
    { rel: "deployments", kind: "collection" },
    { rel: "vlans", kind: "collection" },
    { rel: "metrics", kind: "collection" },
    { rel: "storage", kind: "collection" },
    { rel: "status", kind: "item" },
  ],
  cluster: [{ rel: "status", kind: "item" }],
};

/** The cluster filter when `?queues=` is absent (a cluster without `queues` is in these). */
export const DEFAULT_QUEUES: readonly string[] = ["admin", "default"];

/** `?queues=all` */
export const ALL_QUEUES: readonly string[] = ["admin", "default", "production"];

/** True when a cluster's `queues` meet the filter (missing `queues` counts as admin, default). */
export function inQueues(cluster: unknown, queues: readonly string[]): boolean {
  const own = isObject(cluster) && Array.isArray(cluster.queues) ? cluster.queues : DEFAULT_QUEUES;
  return own.some((q) => queues.includes(String(q)));
}

/**
 * Drops clusters outside the queues from a deep view: every `clusters` object (cluster uid ->
 * cluster), and the view itself when it is one (`isClusters`).
 */
export function filterClusters(view: unknown, queues: readonly string[], isClusters: boolean): unknown {
  if (Array.isArray(view)) return view.map((v) => filterClusters(v, queues, false));
  if (!isObject(view)) return view;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(view)) {
    if (isClusters && !inQueues(v, queues)) continue;
    out[k] = filterClusters(v, queues, k === "clusters" && isObject(v));
  }
  return out;
}

/** `/3.0` + segments, each percent-encoded; the root is `/3.0/`. */
export function hrefFor(base: string, segments: readonly string[]): string {
  if (segments.length === 0) return `${base}/`;
  return `${base}/${segments.map(encodeURIComponent).join("/")}`;
}

export interface ItemLinkInput {
  base: string;
  segments: readonly string[];
  parentSegments: readonly string[];
  subfolders: readonly string[];
  version: string;
  extras: ExtraLinks;
}

/** Links of an item: sub-folders (tree order), self, parent, version, versions, then extras. */
export function itemLinks(i: ItemLinkInput): Link[] {
  const self = hrefFor(i.base, i.segments);
  const links: Link[] = i.subfolders.map((rel) => ({
    rel,
    href: hrefFor(i.base, [...i.segments, rel]),
    type: MEDIA.collection,
  }));
  links.push(
    { rel: "self", type: MEDIA.item, href: self },
    { rel: "parent", type: MEDIA.item, href: hrefFor(i.base, i.parentSegments) },
    { rel: "version", type: MEDIA.item, href: hrefFor(i.base, [...i.segments, "versions", i.version]) },
    { rel: "versions", type: MEDIA.collection, href: hrefFor(i.base, [...i.segments, "versions"]) },
  );
  for (const e of extrasFor(i.segments, i.extras)) {
    links.push({ rel: e.rel, type: MEDIA[e.kind], href: hrefFor(i.base, [...i.segments, e.rel]) });
  }
  return links;
}

function extrasFor(segments: readonly string[], extras: ExtraLinks): ExtraLinks["site"] {
  if (segments.length === 2 && segments[0] === "sites") return extras.site;
  if (segments.length === 4 && segments[0] === "sites" && segments[2] === "clusters") return extras.cluster;
  return [];
}

/** An item: the file's JSON plus `version` and `links`. */
export function itemBody(json: unknown, version: string, links: Link[]): JsonObject {
  const base = isObject(json) ? json : { value: json };
  return { ...base, version, links };
}

/** A collection envelope (no pagination for reference collections: offset is always 0). */
export function collectionBody(
  items: unknown[] | JsonObject,
  version: string | undefined,
  self: string,
  parent: string,
): JsonObject {
  const total = Array.isArray(items) ? items.length : Object.keys(items).length;
  const body: JsonObject = { total, offset: 0, items };
  if (version !== undefined) body.version = version;
  body.links = [
    { rel: "self", type: MEDIA.collection, href: self },
    { rel: "parent", type: MEDIA.item, href: parent },
  ];
  return body;
}

export interface VersionInput {
  sha: string;
  time: number;
  message: string;
  author: string;
}

/** One version (a commit that changed the resource). */
export function versionItem(v: VersionInput, resourceHref: string): JsonObject {
  const base = resourceHref.endsWith("/") ? resourceHref : `${resourceHref}/`;
  return {
    uid: v.sha,
    date: httpDate(v.time),
    message: v.message,
    author: v.author,
    type: "version",
    links: [
      { rel: "self", href: `${base}versions/${v.sha}`, type: MEDIA.item },
      { rel: "parent", href: resourceHref, type: MEDIA.item },
    ],
  };
}

/** Versions collection: `{total, offset, items, links}` with the page asked for. */
export function versionsBody(
  items: JsonObject[],
  total: number,
  offset: number,
  resourceHref: string,
): JsonObject {
  const base = resourceHref.endsWith("/") ? resourceHref : `${resourceHref}/`;
  return {
    total,
    offset,
    items,
    links: [
      { rel: "self", href: `${base}versions`, type: MEDIA.collection },
      { rel: "parent", href: resourceHref, type: MEDIA.item },
    ],
  };
}

/** RFC 9110 HTTP-date of UNIX seconds. */
export function httpDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toUTCString();
}

/** Recursively sorts object keys (the deep view's `rec_sort`); arrays keep their order. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep(value[k]);
  return out;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Path segments from a raw URL path below the API version, or an error message.
 * Each segment is percent-decoded once; empty, `.`, `..`, and segments holding `/`, `\` or control
 * characters (NUL included) are refused, so no request can name anything outside the prefix.
 */
export function parseSegments(rawPath: string): { segments: string[] } | { error: string } {
  const parts = rawPath.split("/").filter((p, i, all) => !(p === "" && (i === 0 || i === all.length - 1)));
  const segments: string[] = [];
  for (const part of parts) {
    let seg: string;
    try {
      seg = decodeURIComponent(part);
    } catch {
      return { error: `Invalid percent-encoding in path segment '${part}'.` };
    }
    if (seg === "" || seg === "." || seg === "..") return { error: `Invalid path segment '${part}'.` };
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
    if (/[/\\\u0000-\u001f\u007f]/.test(seg)) return { error: `Invalid path segment '${part}'.` };
    segments.push(seg);
  }
  return { segments };
}
