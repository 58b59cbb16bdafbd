// The registry of stable error codes: each code has one HTTP status and a retryable flag.
// Only the server's error handler turns these into HTTP; callers branch on `code`.

export const ERRORS = {
  GRIDQ_BAD_REQUEST: { status: 400, retryable: false, summary: "The request is malformed." },
  GRIDQ_INVALID_JSON: { status: 400, retryable: false, summary: "The request body is not valid JSON." },
  GRIDQ_VALIDATION: {
    status: 400,
    retryable: false,
    summary: "A field is missing, unknown or of the wrong type.",
  },
  GRIDQ_INVALID_RESOURCES: {
    status: 400,
    retryable: false,
    summary: "The resource request (`resources`) cannot be parsed.",
  },
  GRIDQ_INVALID_PROPERTIES: {
    status: 400,
    retryable: false,
    summary: "The properties filter (`properties`) cannot be parsed or names an unknown property.",
  },
  GRIDQ_INVALID_WALLTIME: { status: 400, retryable: false, summary: "The walltime cannot be parsed." },
  GRIDQ_INVALID_ID: { status: 400, retryable: false, summary: "An identifier is not a positive integer." },
  GRIDQ_UNSATISFIABLE: {
    status: 400,
    retryable: false,
    summary: "No node of the site can ever satisfy the resource request.",
  },
  GRIDQ_UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    summary: "No valid credentials (Basic or Bearer) were given.",
  },
  GRIDQ_TOKEN_EXPIRED: {
    status: 401,
    retryable: false,
    summary: "The bearer token has expired: authenticate again.",
  },
  GRIDQ_TOKEN_REVOKED: {
    status: 401,
    retryable: false,
    summary:
      "The bearer token was revoked (`gridq token revoke`), or its user was deleted: authenticate again.",
  },
  GRIDQ_USER_DISABLED: {
    status: 401,
    retryable: false,
    summary: "The user is disabled (`gridq user disable`): an admin can enable it again.",
  },
  GRIDQ_TOKEN_SCOPE: {
    status: 403,
    retryable: false,
    summary:
      "A job's token (GRIDQ_TOKEN) may only read its own job and run `gridq exec` on its nodes, and mint no token.",
  },
  GRIDQ_FORBIDDEN: { status: 403, retryable: false, summary: "The user may not act on this resource." },
  GRIDQ_NOT_FOUND: { status: 404, retryable: false, summary: "No such resource." },
  GRIDQ_UNKNOWN_SITE: { status: 404, retryable: false, summary: "No such site." },
  GRIDQ_UNKNOWN_JOB: { status: 404, retryable: false, summary: "No such job." },
  GRIDQ_UNKNOWN_COMMIT: {
    status: 404,
    retryable: false,
    summary: "No such commit in the reference repository.",
  },
  GRIDQ_UNKNOWN_BRANCH: {
    status: 404,
    retryable: false,
    summary: "No such branch in the reference repository.",
  },
  GRIDQ_METHOD_NOT_ALLOWED: {
    status: 405,
    retryable: false,
    summary: "The method is not allowed on this resource.",
  },
  GRIDQ_NOT_ACCEPTABLE: {
    status: 406,
    retryable: false,
    summary: "No representation matches the Accept header.",
  },
  GRIDQ_CONFLICT: {
    status: 409,
    retryable: false,
    summary: "The resource is in a state that does not allow this.",
  },
  GRIDQ_USER_EXISTS: { status: 409, retryable: false, summary: "A user with that name exists already." },
  GRIDQ_PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    summary: "The request body is larger than the limit.",
  },
  GRIDQ_REQUEST_TIMEOUT: {
    status: 408,
    retryable: true,
    summary:
      "The request's headers or body did not arrive in time (`server.headersTimeout`, `server.requestTimeout`).",
  },
  GRIDQ_URI_TOO_LONG: { status: 414, retryable: false, summary: "The URL is longer than the limit." },
  GRIDQ_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    summary: "The request body's Content-Type is not supported.",
  },
  GRIDQ_INVALID_SELECTION_RULE: {
    status: 400,
    retryable: false,
    summary: "An Accelerator selection rule (`where`) cannot be parsed; the message gives the position.",
  },
  GRIDQ_UNKNOWN_FIELD: {
    status: 400,
    retryable: false,
    summary: "An Accelerator query names a field that jobs do not have.",
  },
  GRIDQ_RATE_LIMITED: {
    status: 429,
    retryable: true,
    summary: "Too many requests; `Retry-After` gives the seconds to wait when known.",
  },
  GRIDQ_LOGIN_LOCKED: {
    status: 429,
    retryable: true,
    summary:
      "Too many failed logins for this account or from this address: retry after `Retry-After` seconds (also `details.retry_after`).",
  },
  GRIDQ_HEADERS_TOO_LARGE: {
    status: 431,
    retryable: false,
    summary: "The request's headers are larger than the HTTP parser accepts (16 KiB).",
  },
  GRIDQ_QUOTA_EXCEEDED: {
    status: 429,
    retryable: true,
    summary: "A queue's limit of active jobs per user is reached; retry when some have ended.",
  },
  GRIDQ_INTERNAL: { status: 500, retryable: true, summary: "An unexpected error occurred on the server." },
  GRIDQ_TOO_MANY_CONNECTIONS: {
    status: 503,
    retryable: true,
    summary:
      "The server holds as many connections as it allows, in total or from this address (`server.maxConnections`, `server.maxConnectionsPerClient`); the connection is closed.",
  },
  GRIDQ_UNAVAILABLE: {
    status: 503,
    retryable: true,
    summary: "A backend (store, repository, agent) is unavailable.",
  },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** An error every layer can throw; `code` is stable, `message` is for people. */
export class GridqError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "GridqError";
    this.code = code;
    this.status = ERRORS[code].status;
    this.retryable = ERRORS[code].retryable;
    this.details = details;
  }
}

export const isGridqError = (e: unknown): e is GridqError => e instanceof GridqError;
