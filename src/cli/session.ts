// Where the CLI finds its server and credentials: flags, then env, then the credentials file.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { defaultHome } from "../config/config.ts";
import { GridqClient } from "../sdk/client.ts";

export interface StoredCredentials {
  url: string;
  user: string;
  token: string;
  expires_at: number;
  ca?: string;
}

export interface GlobalOptions {
  url?: string;
  site: string;
  json?: boolean;
}

export function homeDir(): string {
  return process.env.GRIDQ_HOME ?? defaultHome(process.env);
}

export function credentialsFile(): string {
  return process.env.GRIDQ_CREDENTIALS ?? join(homeDir(), "credentials.json");
}

export function readCredentials(): StoredCredentials | null {
  const path = credentialsFile();
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as StoredCredentials;
  } catch (e) {
    throw new Error(`cannot read credentials file ${path}: ${(e as Error).message}`);
  }
}

export function serverUrl(o: GlobalOptions, stored: StoredCredentials | null): string {
  return o.url ?? process.env.GRIDQ_URL ?? stored?.url ?? "http://127.0.0.1:8080";
}

export function makeClient(o: GlobalOptions, withCredentials = true): GridqClient {
  const stored = readCredentials();
  const url = serverUrl(o, stored);
  const token = process.env.GRIDQ_TOKEN ?? stored?.token;
  // One keep-alive dispatcher for the whole command; trusts the server's own CA when stored.
  const dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    ...(stored?.ca ? { connect: { ca: stored.ca } } : {}),
  });
  return new GridqClient({
    url,
    credentials: withCredentials && token ? { token } : null,
    fetch: undiciFetch as unknown as typeof globalThis.fetch,
    init: { dispatcher },
  });
}
