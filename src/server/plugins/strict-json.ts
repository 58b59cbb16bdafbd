// JSON bodies must have the types their schema says: `{"command": true}` is a 400, not "true".

import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { GridqError } from "../../domain/errors.ts";

/**
 * Why: the validator coerces types (`coerceTypes`), which form bodies and query strings need
 * (everything there is text), but a JSON body says what it means: `true`, `5` or `[]` where a
 * string is expected is a client's mistake to report, not to reinterpret. Only `type` is checked
 * here, before validation; every other keyword is the validator's.
 */
interface TypeSchema {
  type?: string | string[];
  properties?: Record<string, TypeSchema>;
  additionalProperties?: TypeSchema | boolean;
  items?: TypeSchema;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function hasType(t: string, v: unknown): boolean {
  switch (t) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    case "null":
      return v === null;
    default:
      return true;
  }
}

const ARTICLE: Record<string, string> = { integer: "an integer", array: "a list", object: "an object" };

/** The first place where `v` has another type than `schema` says, as `body.field: must be...`. */
export function typeMismatch(schema: TypeSchema | undefined, v: unknown, path: string): string | null {
  if (!schema || typeof schema !== "object") return null;
  const types = schema.type === undefined ? [] : [schema.type].flat();
  if (types.length > 0 && !types.some((t) => hasType(t, v))) {
    return `${path}: must be ${types.map((t) => ARTICLE[t] ?? `a ${t}`).join(" or ")}`;
  }
  if (Array.isArray(v) && schema.items) {
    for (let i = 0; i < v.length; i++) {
      const m = typeMismatch(schema.items, v[i], `${path}[${i}]`);
      if (m) return m;
    }
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const sub =
        schema.properties?.[k] ??
        (isObject(schema.additionalProperties) ? (schema.additionalProperties as TypeSchema) : undefined);
      const m = typeMismatch(sub, x, `${path}.${k}`);
      if (m) return m;
    }
  }
  return null;
}

export const strictJsonPlugin = fp(async (app: FastifyInstance) => {
  app.addHook("preValidation", async (req: FastifyRequest) => {
    const schema = req.routeOptions.schema?.body as TypeSchema | undefined;
    const type = req.headers["content-type"] ?? "";
    if (!schema || !/^application\/([\w.+-]+\+)?json\b/i.test(type)) return;
    const m = typeMismatch(schema, req.body, "body");
    if (m) {
      const field = m.slice(0, m.indexOf(":")).replace(/^body\.?/, "") || "body";
      throw new GridqError("GRIDQ_VALIDATION", m, { field });
    }
  });
});
