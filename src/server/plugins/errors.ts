// The one place that turns errors into HTTP: GridqError codes, Fastify's own errors, 404s, and
// what Node's HTTP parser refuses before Fastify sees a request.
// 5xx bodies never carry internals; the log gets them with the request id.

import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { ERRORS, type ErrorCode, GridqError, isGridqError } from "../../domain/errors.ts";

/** Fastify's error codes mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "GRIDQ_INVALID_JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "GRIDQ_INVALID_JSON",
  FST_ERR_CTP_BODY_TOO_LARGE: "GRIDQ_PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "GRIDQ_UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "GRIDQ_BAD_REQUEST",
  FST_ERR_VALIDATION: "GRIDQ_VALIDATION",
  FST_ERR_BAD_URL: "GRIDQ_BAD_REQUEST",
  FST_ERR_ASYNC_CONSTRAINT: "GRIDQ_BAD_REQUEST",
};

export function toGridqError(err: unknown): GridqError {
  if (isGridqError(err)) return err;
  const fe = err as FastifyError;
  if (fe && typeof fe.code === "string") {
    const code = FASTIFY_CODES[fe.code];
    if (code) {
      let message = fe.message;
      if (fe.code === "FST_ERR_VALIDATION" && fe.validation?.[0]) {
        const v = fe.validation[0];
        const where = fe.validationContext ?? "request";
        const field =
          (v.params as { additionalProperty?: string }).additionalProperty ??
          (v.instancePath ? v.instancePath.replace(/^\//, "").replaceAll("/", ".") : "");
        message =
          v.keyword === "additionalProperties"
            ? `${where}: unknown field '${field}'`
            : `${where}${field ? `.${field}` : ""}: ${v.message}`;
      }
      return new GridqError(code, message);
    }
    if (fe.statusCode === 413) return new GridqError("GRIDQ_PAYLOAD_TOO_LARGE", fe.message);
    if (fe.statusCode === 415) return new GridqError("GRIDQ_UNSUPPORTED_MEDIA_TYPE", fe.message);
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
      return new GridqError("GRIDQ_BAD_REQUEST", fe.message);
  }
  return new GridqError("GRIDQ_INTERNAL", "internal error; see the server log for this request id");
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: GridqError): FastifyReply {
  if (err.code === "GRIDQ_UNAUTHENTICATED" || err.code === "GRIDQ_TOKEN_EXPIRED") {
    reply.header("WWW-Authenticate", 'Basic realm="gridq", charset="UTF-8", Bearer realm="gridq"');
  }
  return reply
    .code(err.status)
    .type("application/json; charset=utf-8")
    .send({
      code: err.code,
      message: err.message,
      status: err.status,
      request_id: req.id,
      ...(err.details ? { details: err.details } : {}),
    });
}

export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err, req, reply) => {
    const g = toGridqError(err);
    if (g.status >= 500) req.log.error({ err }, "request failed");
    else req.log.info({ code: g.code, msg: g.message }, "request rejected");
    return sendError(req, reply, g);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, new GridqError("GRIDQ_NOT_FOUND", `Cannot find resource ${req.url.split("?")[0]}`)),
  );
});

/** An HTTP/1.1 answer written on a raw socket: the documented body `{code, message, status, request_id}`. */
export function rawAnswer(code: ErrorCode, message: string): string {
  const { status } = ERRORS[code];
  const body = JSON.stringify({ code, message, status, request_id: randomUUID() });
  const reason = STATUS_TEXT[status] ?? "Error";
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/**
 * Fastify's `clientErrorHandler`: what Node's parser refuses before any route (a malformed
 * request, headers over the parser's limit, a request line over the URL limit, a timeout), answered
 * with gridq's error body and the connection closed.
 */
export function clientErrorHandler(maxUrlLength: number, maxHeaderSize: number) {
  return (error: Error, socket: Duplex) => {
    const err = error as NodeJS.ErrnoException & { rawPacket?: unknown; reason?: string };
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    let answer: string;
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      answer = rawAnswer("GRIDQ_REQUEST_TIMEOUT", "the request did not arrive in time");
    } else if (err.code === "HPE_HEADER_OVERFLOW") {
      // The request line alone over the URL limit is a 414; otherwise the headers are too large.
      const raw = Buffer.isBuffer(err.rawPacket)
        ? err.rawPacket.subarray(0, maxUrlLength + 64).toString("latin1")
        : "";
      const lineEnd = raw.indexOf("\r\n");
      answer =
        /^[A-Z]+ /.test(raw) && (lineEnd < 0 || lineEnd > maxUrlLength)
          ? rawAnswer("GRIDQ_URI_TOO_LONG", `the URL is over the ${maxUrlLength}-byte limit`)
          : rawAnswer("GRIDQ_HEADERS_TOO_LARGE", `the request's headers are over ${maxHeaderSize} bytes`);
    } else {
      const why = err.reason ?? err.code ?? "malformed";
      answer = rawAnswer("GRIDQ_BAD_REQUEST", `malformed HTTP request: ${why}`);
    }
    if (socket.writable) socket.write(answer);
    socket.destroy();
  };
}

export { ERRORS };
