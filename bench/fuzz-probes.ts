// Hostile requests for the fuzz run (bench/fuzz.ts): every operation of the OpenAPI document, one hostile change at a time.

import fc from "fast-check";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: Json[];
}
export interface Operation {
  method: string;
  path: string;
  parameters?: { in: "path" | "query"; name: string; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, Omit<Operation, "method" | "path">>>;
}

/** One request to send: a path already encoded (or raw on purpose), headers and body. */
export interface Probe {
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const LONG = "a".repeat(10_000);
/** Nesting deep enough to break a recursive parser or serializer: kept as text. */
const DEEP = `${"[".repeat(5000)}${"]".repeat(5000)}`;

/** Hostile JSON values: wrong types, huge and inexact numbers, long and odd text, prototype keys. */
export const HOSTILE_JSON: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  1e18,
  "",
  " ",
  LONG,
  "../../../../etc/passwd",
  "/etc/shadow",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f%2e%2e%2fetc",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\u202etxt.exe",
  "💥".repeat(200),
  "' OR 1=1 --",
  "$" + "{7*7}{{7*7}}", // template injection (split so no linter takes it for a mistake)
  "%s%s%n",
  "^(a+)+$",
  "9223372036854775808",
  "99999999999999999999",
  "1e400",
  "Infinity",
  "NaN",
  "-0",
  "\r\nX-Injected: 1",
  {},
  [],
  [null],
  { __proto__: { admin: true } } as unknown as Json,
  JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": {"admin": true}}}'),
];

/** Hostile text for path segments and query values; `raw` ones are sent unencoded on purpose. */
const HOSTILE_TEXT: { text: string; raw?: boolean }[] = [
  ...HOSTILE_JSON.filter((v): v is string => typeof v === "string").map((text) => ({ text })),
  { text: "a".repeat(9000) },
  { text: "..", raw: true },
  { text: "../../../etc/passwd", raw: true },
  { text: "%2e%2e/%2e%2e/etc", raw: true },
  { text: "%", raw: true },
  { text: "%zz", raw: true },
  { text: "%00", raw: true },
  { text: "a;b=c", raw: true },
  { text: "-1" },
  { text: "0" },
  { text: "1.5" },
  { text: "true" },
  { text: "[]" },
];

const BAD_CONTENT_TYPES = [
  "text/plain",
  "application/xml",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "application/x-www-form-urlencoded",
  "application/octet-stream",
  "",
];

/** Parameters and body fields of Accelerator routes that the OpenAPI document only describes in prose. */
const UNDOCUMENTED: Record<string, { query?: string[]; body?: string[] }> = {
  "get /api/v3/query": { query: ["select", "from", "where", "orderby", "limit", "format"] },
  "post /api/v3/jobs": {
    query: ["format"],
    body: ["command", "resources", "env", "rundir", "logfile", "jobname", "autokill", "queue", "project"],
  },
  "post /api/v3/token": { body: ["username", "password"] },
  "put /api/v3/jobs/{id}": { body: ["action"] },
  "get /api/v3/jobs/{id}": { query: ["format"] },
  "get /api/v3/jobs/{id}/{field}": { query: ["format"] },
};

const PLAUSIBLE: Record<string, string> = {
  site: "local",
  cluster: "local",
  node: "fuzz-node",
  id: "1",
  field: "STATUS",
  pid: "1",
  "*": "sites",
  command: "true",
  name: "fuzzuser",
  password: "fuzz-password-1",
  walltime: "+0:01",
  username: "fuzzuser",
};

/** Percent-encoding that survives lone surrogates: sent as their (invalid UTF-8) bytes, on purpose. */
const enc = (t: string): string => encodeURIComponent(t.toWellFormed()).replaceAll("%EF%BF%BD", "%ED%A0%80");

export function operationsOf(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods))
      out.push({ method: method.toUpperCase(), path, ...op });
  }
  return out;
}

/** A plausible value for a field, by name and schema: the baseline each probe changes one thing in. */
function plausible(name: string, s: Schema | undefined, known: Record<string, string>): Json {
  if (known[name] !== undefined) return known[name]!;
  if (s?.enum?.length) return s.enum[0]!;
  if (s?.type === "integer" || s?.type === "number") return 1;
  if (s?.type === "boolean") return true;
  if (s?.type === "array") return [];
  if (s?.type === "object") return {};
  return PLAUSIBLE[name] ?? "x";
}

/** Every probe of one operation: the baseline, then one hostile change at a time. */
export function probesOf(op: Operation, token: string, known: Record<string, string>, seed: number): Probe[] {
  const key = `${op.method.toLowerCase()} ${op.path}`;
  const extra = UNDOCUMENTED[key] ?? {};
  const params = op.parameters ?? [];
  const pathParams = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const queryParams = [...params.filter((p) => p.in === "query").map((p) => p.name), ...(extra.query ?? [])];
  const content = op.requestBody?.content ?? {};
  const bodySchema = content["application/json"]?.schema;
  const bodyFields = [...Object.keys(bodySchema?.properties ?? {}), ...(extra.body ?? [])];
  const hasBody = op.method !== "GET" && op.method !== "DELETE";
  const auth = { authorization: `Bearer ${token}` };

  const baseBody: Record<string, Json> = {};
  for (const f of bodySchema?.required ?? extra.body?.slice(0, 1) ?? []) {
    baseBody[f] = plausible(f, bodySchema?.properties?.[f], known);
  }
  if (key === "post /3.0/sites/{site}/jobs" || key === "post /api/v3/jobs") baseBody.command = "true";
  const segment = (name: string, v?: { text: string; raw?: boolean }) =>
    v ? (v.raw ? v.text : enc(v.text)) : encodeURIComponent(String(plausible(name, undefined, known)));
  const build = (
    what: string,
    o: {
      seg?: [string, { text: string; raw?: boolean }];
      query?: string;
      body?: string | null;
      headers?: Record<string, string>;
    } = {},
  ): Probe => {
    const path = op.path.replace(/\{([^}]+)\}/g, (_, n: string) =>
      segment(n, o.seg?.[0] === n ? o.seg[1] : undefined),
    );
    const body = o.body === null ? undefined : (o.body ?? (hasBody ? JSON.stringify(baseBody) : undefined));
    const headers: Record<string, string> = {
      ...auth,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...o.headers,
    };
    return {
      what,
      method: op.method,
      path: path + (o.query ? `?${o.query}` : ""),
      headers,
      ...(body !== undefined ? { body } : {}),
    };
  };

  const probes: Probe[] = [build("baseline")];
  for (const name of pathParams)
    for (const v of HOSTILE_TEXT)
      probes.push(build(`path ${name}=${v.text.slice(0, 20)}`, { seg: [name, v] }));
  for (const name of queryParams) {
    for (const v of HOSTILE_TEXT) {
      const value = v.raw ? v.text : enc(v.text);
      probes.push(
        build(`query ${name}=${v.text.slice(0, 20)}`, { query: `${encodeURIComponent(name)}=${value}` }),
      );
    }
    probes.push(build(`query ${name} twice`, { query: `${name}=1&${name}=2` }));
  }
  if (hasBody) {
    for (const f of bodyFields) {
      for (const v of HOSTILE_JSON)
        probes.push(
          build(`body ${f}=${JSON.stringify(v)?.slice(0, 20)}`, {
            body: JSON.stringify({ ...baseBody, [f]: v }),
          }),
        );
      const deepBody = JSON.stringify({ ...baseBody, [f]: "@deep@" }).replace('"@deep@"', DEEP);
      probes.push(build(`body ${f} nested 5000 deep`, { body: deepBody }));
    }
    for (const f of bodySchema?.required ?? []) {
      const { [f]: _, ...rest } = baseBody;
      probes.push(build(`body without ${f}`, { body: JSON.stringify(rest) }));
    }
    probes.push(
      build("body with an unknown field", { body: JSON.stringify({ ...baseBody, "fuzz-extra": 1 }) }),
    );
    for (const whole of ["null", "[]", '"text"', "123", "{", '{"a":', "\u0000", "", DEEP]) {
      probes.push(build(`body ${whole.slice(0, 10)}`, { body: whole }));
    }
    for (const ct of BAD_CONTENT_TYPES)
      probes.push(build(`content-type ${ct}`, { headers: { "content-type": ct } }));
    probes.push(
      build("form body", {
        body: new URLSearchParams(
          Object.entries(baseBody).map(([k, v]): [string, string] => [k, String(v)]),
        ).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    probes.push(
      build("body over the limit", { body: JSON.stringify({ ...baseBody, pad: "a".repeat(1_100_000) }) }),
    );
  }
  probes.push(build("no credentials", { headers: { authorization: "" } }));
  for (const a of [
    "Bearer a.b.c",
    "Basic !!!",
    `Basic ${Buffer.from("root:").toString("base64")}`,
    `Bearer ${"a".repeat(8000)}`,
  ]) {
    probes.push(build(`authorization ${a.slice(0, 12)}`, { headers: { authorization: a } }));
  }
  for (const accept of ["text/html", "application/xml", "*/*;q=abc", "a".repeat(4000)])
    probes.push(build(`accept ${accept.slice(0, 12)}`, { headers: { accept } }));
  // Random values (fast-check, seeded): arbitrary JSON in the body, arbitrary unicode in the query.
  const rnd = fc.sample(fc.tuple(fc.jsonValue(), fc.string({ unit: "binary", maxLength: 200 })), {
    seed,
    numRuns: 8,
  });
  for (const [v, s] of rnd) {
    if (hasBody && bodyFields.length) {
      const f = bodyFields[Math.abs(JSON.stringify(v ?? null).length) % bodyFields.length]!;
      probes.push(build(`random body ${f}`, { body: JSON.stringify({ ...baseBody, [f]: v as Json }) }));
    }
    const q = queryParams[s.length % Math.max(1, queryParams.length)];
    if (q)
      probes.push(
        build(`random query ${q}`, {
          query: `${q}=${enc(s)}`,
        }),
      );
  }
  // The baseline first, then a seeded shuffle.
  const rest = probes.slice(1);
  const order = fc.sample(
    fc.shuffledSubarray(
      rest.map((_, i) => i),
      { minLength: rest.length, maxLength: rest.length },
    ),
    { seed, numRuns: 1 },
  )[0]!;
  return [probes[0]!, ...order.map((i) => rest[i]!)];
}
