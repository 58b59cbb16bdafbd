// Test helper: plain HTTP calls to a real server, from a chosen loopback source address (127.0.0.x
// stands for different clients), and the users a security test needs.

import { type Agent, request } from "node:http";
import type { GridqServer } from "../../helpers/gridq-process.ts";

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> & { code?: string; message?: string };
  text: string;
}

export const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
export const bearer = (token: string): string => `Bearer ${token}`;

/** One request on a fresh connection from `from` (default 127.0.0.1), or on `agent`'s. */
export function call(
  url: string,
  method: string,
  path: string,
  o: { auth?: string; body?: unknown; form?: Record<string, string>; from?: string; agent?: Agent } = {},
): Promise<Answer> {
  const u = new URL(path, url);
  const payload =
    o.form !== undefined
      ? new URLSearchParams(o.form).toString()
      : o.body !== undefined
        ? JSON.stringify(o.body)
        : undefined;
  const headers: Record<string, string> = { accept: "application/json" };
  if (o.auth) headers.authorization = o.auth;
  if (o.form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
  else if (payload !== undefined) headers["content-type"] = "application/json";
  return new Promise((res, rej) => {
    const req = request(
      u,
      {
        method,
        headers,
        ...(o.agent ? { agent: o.agent } : { localAddress: o.from ?? "127.0.0.1", agent: false }),
        timeout: 30_000,
      },
      (r) => {
        let text = "";
        r.setEncoding("utf8");
        r.on("data", (d) => (text += d));
        r.on("end", () => {
          let body: Answer["body"] = {};
          try {
            body = text ? JSON.parse(text) : {};
          } catch {
            body = {};
          }
          res({ status: r.statusCode ?? 0, headers: r.headers, body, text });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on("error", rej);
    req.end(payload);
  });
}

/** The first-start admin's token (from the credentials file the server wrote). */
export async function adminToken(server: GridqServer): Promise<string> {
  const { readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  return JSON.parse(readFileSync(join(server.home, "credentials.json"), "utf8")).token as string;
}

/** Create users (as the admin) and return a fresh token for each, from their passwords. */
export async function makeUsers(
  server: GridqServer,
  names: string[],
  o: { admin?: string[] } = {},
): Promise<Record<string, string>> {
  const admin = bearer(await adminToken(server));
  const tokens: Record<string, string> = {};
  for (const name of names) {
    const password = `${name}-password`;
    const made = await call(server.url, "POST", "/3.0/users", {
      auth: admin,
      body: { name, password, admin: o.admin?.includes(name) ?? false },
    });
    if (made.status !== 201) throw new Error(`creating ${name}: ${made.status} ${made.text}`);
    const t = await call(server.url, "POST", "/3.0/auth/token", { auth: basic(name, password), body: {} });
    if (t.status !== 200) throw new Error(`token for ${name}: ${t.status} ${t.text}`);
    tokens[name] = t.body.access_token as string;
  }
  return tokens;
}

/** The claims of a JWT, unverified (to look at what the server put in it). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}
