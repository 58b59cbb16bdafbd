// Test helper for the limits suites: a JSON client with the first admin's Basic credentials, and a hang detector.

import { userInfo } from "node:os";
import type { GridqServer } from "../helpers/gridq-process.ts";

export interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown>;
}

/** Requests to `gq` as its first admin (`root` when tests run as root). */
export function adminClient(gq: GridqServer) {
  const auth = `Basic ${Buffer.from(`${userInfo().username}:${gq.password}`).toString("base64")}`;
  return async (
    path: string,
    o: {
      method?: string;
      json?: unknown;
      form?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: auth, ...o.headers };
    let body: string | undefined;
    if (o.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(o.json);
    } else if (o.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(o.form).toString();
    }
    const r = await fetch(`${gq.url}${path}`, { method: o.method ?? (body ? "POST" : "GET"), headers, body });
    const text = await r.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: r.status, text, body: parsed };
  };
}

/**
 * `p`, or a rejection after `ms`: a hang detector with a bound far above the expected time (the
 * holes these suites close took tens of seconds to hours), not a speed measurement.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
