// JSON schemas of the jobs API: request validation, response serialization and OpenAPI.

/** Largest id, offset or count a request may carry: above it a JSON number is no longer exact. */
export const MAX_SAFE_ID = Number.MAX_SAFE_INTEGER;

export const linkSchema = {
  type: "object",
  properties: { rel: { type: "string" }, href: { type: "string" }, type: { type: "string" } },
} as const;

export const jobSchema = {
  $id: "Job",
  type: "object",
  properties: {
    uid: { type: "integer" },
    user: { type: "string" },
    user_uid: { type: "string" },
    state: { type: "string", enum: ["waiting", "hold", "launching", "running", "terminated", "error"] },
    queue: { type: "string" },
    name: { type: "string" },
    project: { type: "string" },
    command: { type: "string" },
    resources: { type: "string" },
    properties: { type: "string" },
    types: { type: "array", items: { type: "string" } },
    mode: { type: "string" },
    walltime: { type: "integer", description: "seconds" },
    submitted_at: { type: "integer" },
    scheduled_at: { type: "integer", description: "start, or predicted start while waiting" },
    pending_reason: {
      type: "string",
      enum: ["resources", "priority", "dependency", "hold", "reservation"],
      description: "why a waiting job has not started",
    },
    dependencies: { type: "array", items: { type: "string" } },
    array_id: { type: "integer" },
    array_index: { type: "integer" },
    started_at: { type: "integer" },
    stopped_at: { type: "integer" },
    exit_code: { type: "integer" },
    message: { type: "string" },
    directory: { type: "string" },
    assigned_nodes: { type: "array", items: { type: "string" } },
    resources_by_type: {
      type: "object",
      properties: { cores: { type: "array", items: { type: "string" } } },
    },
    events: {
      type: "array",
      items: {
        type: "object",
        properties: {
          uid: { type: "integer" },
          created_at: { type: "integer" },
          type: { type: "string" },
          description: { type: "string" },
        },
      },
    },
    links: { type: "array", items: linkSchema },
  },
} as const;

export const jobCollectionSchema = {
  type: "object",
  properties: {
    total: { type: "integer" },
    offset: { type: "integer" },
    items: { type: "array", items: { $ref: "Job#" } },
    links: { type: "array", items: linkSchema },
  },
} as const;

export const submitJobBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    command: { type: "string", maxLength: 65536 },
    resources: { type: "string", maxLength: 4096 },
    // No type here: a JSON number is seconds, a string is OAR's H:M:S (the service checks).
    walltime: { description: "seconds (number) or OAR H:M:S (string)" },
    name: { type: "string", maxLength: 255 },
    project: { type: "string", maxLength: 255 },
    queue: { type: "string", maxLength: 64 },
    directory: { type: "string", maxLength: 4096 },
    stdout: { type: "string", maxLength: 4096 },
    stderr: { type: "string", maxLength: 4096 },
    properties: { type: "string", maxLength: 4096 },
    types: { type: "array", items: { type: "string", maxLength: 255 }, maxItems: 32 },
    reservation: { type: "string", maxLength: 64, description: "YYYY-MM-DD hh:mm:ss (server time zone)" },
    dependencies: {
      type: "array",
      items: { type: "string", maxLength: 32 },
      maxItems: 64,
      description: "after:ID, afterok:ID, afterany:ID",
    },
    array: { type: "integer", minimum: 1, maximum: 10000, description: "submit N jobs (an array)" },
    hold: { type: "boolean" },
    env: { type: "object", additionalProperties: { type: "string" }, maxProperties: 256 },
  },
} as const;

export const listJobsQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    state: { type: "string", maxLength: 256 },
    user: { type: "string", maxLength: 64 },
    name: { type: "string", maxLength: 255 },
    queue: { type: "string", maxLength: 64 },
    project: { type: "string", maxLength: 255 },
    offset: { type: "integer", minimum: 0, maximum: MAX_SAFE_ID },
    limit: { type: "integer", minimum: 1, maximum: 500 },
    pretty: {},
  },
} as const;

export const siteJobParams = {
  type: "object",
  properties: {
    site: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,64}$" },
    id: { type: "integer", minimum: 1, maximum: MAX_SAFE_ID },
  },
  required: ["site"],
} as const;

export const errorSchema = {
  type: "object",
  properties: {
    code: { type: "string" },
    message: { type: "string" },
    status: { type: "integer" },
    request_id: { type: "string" },
  },
} as const;
