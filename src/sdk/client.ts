// The typed gridq client over REST: keep-alive via the given fetch, token or Basic credentials,
// typed errors. Runs in Node and in browsers (it needs only `fetch`).

import {
  type Collection,
  type ErrorBody,
  FINAL_JOB_STATES,
  type JobView,
  type SubmitJobRequest,
} from "../protocol/job-types.ts";

export type Credentials = { token: string } | { user: string; password: string } | null;

export interface ClientOptions {
  url: string;
  credentials: Credentials;
  /** A fetch implementation (undici's, with a keep-alive dispatcher, in the CLI). */
  fetch?: typeof globalThis.fetch;
  /** Extra fetch init merged into every call (e.g. `{ dispatcher }` for undici). */
  init?: Record<string, unknown>;
  /** API mount: `/3.0` (default), `/stable` or `/sid`. */
  mount?: string;
}

/** An error answered by the server, with its stable code. */
export class GridqApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  constructor(status: number, body: Partial<ErrorBody>, fallback: string) {
    super(body.message ?? fallback);
    this.name = "GridqApiError";
    this.status = status;
    this.code = body.code ?? `HTTP_${status}`;
    this.requestId = body.request_id;
  }
}

export interface ListJobsOptions {
  state?: string;
  user?: string;
  name?: string;
  queue?: string;
  offset?: number;
  limit?: number;
}

/** A user as the server shows it. */
export interface UserView {
  name: string;
  role: string;
  disabled: boolean;
  created_at: number;
  /** Tokens issued before this instant (unix seconds) are refused. */
  tokens_not_before?: number;
}

const basic = (user: string, password: string): string => {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
};

export class GridqClient {
  readonly url: string;
  readonly mount: string;
  #credentials: Credentials;
  readonly #fetch: typeof globalThis.fetch;
  readonly #init: Record<string, unknown>;

  constructor(o: ClientOptions) {
    this.url = o.url.replace(/\/+$/, "");
    this.mount = o.mount ?? "/3.0";
    this.#credentials = o.credentials;
    this.#fetch = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.#init = o.init ?? {};
  }

  setCredentials(c: Credentials): void {
    this.#credentials = c;
  }

  async #request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    const c = this.#credentials;
    if (c && "token" in c) headers.authorization = `Bearer ${c.token}`;
    else if (c) headers.authorization = basic(c.user, c.password);
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.#fetch(`${this.url}${path}`, {
      ...this.#init,
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) {
      const text = await res.text();
      let parsed: Partial<ErrorBody> = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { message: text.slice(0, 500) };
      }
      throw new GridqApiError(res.status, parsed, `${method} ${path}: HTTP ${res.status}`);
    }
    return res;
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#request(method, path, body);
    return (await res.json()) as T;
  }

  #jobs(site: string): string {
    return `${this.mount}/sites/${encodeURIComponent(site)}/jobs`;
  }

  submitJob(site: string, job: SubmitJobRequest): Promise<JobView> {
    return this.#json("POST", this.#jobs(site), job);
  }

  getJob(site: string, id: number): Promise<JobView> {
    return this.#json("GET", `${this.#jobs(site)}/${id}`);
  }

  listJobs(site: string, o: ListJobsOptions = {}): Promise<Collection<JobView>> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== undefined) q.set(k, String(v));
    const qs = q.size ? `?${q}` : "";
    return this.#json("GET", `${this.#jobs(site)}${qs}`);
  }

  async cancelJob(site: string, id: number): Promise<void> {
    const res = await this.#request("DELETE", `${this.#jobs(site)}/${id}`);
    await res.body?.cancel();
  }

  /** Hold a waiting job (it is not started until resumed) or resume a held one. */
  holdJob(site: string, id: number, action: "hold" | "resume" = "hold"): Promise<JobView> {
    return this.#json("POST", `${this.#jobs(site)}/${id}/${action}`);
  }

  /** The job's output as a web stream of bytes; with `follow`, until the job ends. */
  async output(site: string, id: number, stream: "stdout" | "stderr" = "stdout", offset = 0, follow = false) {
    const res = await this.#request(
      "GET",
      `${this.#jobs(site)}/${id}/output?stream=${stream}&offset=${offset}${follow ? "&follow=true" : ""}`,
    );
    return { state: res.headers.get("x-gridq-job-state"), body: res.body };
  }

  /**
   * Run a command on a node of a running job; yields its output as it comes ({fd, data}), then
   * one {exit} (or {error}).
   */
  async *exec(
    site: string,
    id: number,
    node: string,
    command: string,
  ): AsyncGenerator<{ fd: 1 | 2; data: Uint8Array } | { exit: number } | { error: string }> {
    const res = await this.#request("POST", `${this.#jobs(site)}/${id}/exec`, { node, command });
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line) continue;
        const e = JSON.parse(line) as { fd?: 1 | 2; data?: string; exit?: number; error?: string };
        if (e.data !== undefined)
          yield { fd: e.fd ?? 1, data: Uint8Array.from(atob(e.data), (c) => c.charCodeAt(0)) };
        else if (e.exit !== undefined) yield { exit: e.exit };
        else yield { error: e.error ?? "unknown error" };
      }
    }
  }

  /** Issue (or replace) the credential of a node's agent (admins). */
  issueNodeCredential(site: string, node: string) {
    return this.#json<{ site: string; node: string; token: string }>(
      "POST",
      `${this.mount}/sites/${encodeURIComponent(site)}/agents/${encodeURIComponent(node)}/credential`,
    );
  }

  /** The nodes of a site and their agents' liveness. */
  listAgents(site: string) {
    return this.#json<Collection<{ node: string; state: string; connected: boolean; last_seen: number }>>(
      "GET",
      `${this.mount}/sites/${encodeURIComponent(site)}/agents`,
    );
  }

  /** Poll until the job has started (or ended); returns its representation then. */
  async waitStarted(site: string, id: number): Promise<JobView> {
    let delay = 50;
    for (;;) {
      const job = await this.getJob(site, id);
      if (job.state === "running" || FINAL_JOB_STATES.includes(job.state)) return job;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }

  /** Poll until the job ends; returns its final representation. */
  async waitJob(site: string, id: number, o: { signal?: AbortSignal } = {}): Promise<JobView> {
    let delay = 50;
    for (;;) {
      const job = await this.getJob(site, id);
      if (FINAL_JOB_STATES.includes(job.state)) return job;
      o.signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }

  issueToken(o: { username?: string; password?: string; expiresIn?: number } = {}) {
    return this.#json<{ token_type: string; access_token: string; expires_in: number; user: string }>(
      "POST",
      `${this.mount}/auth/token`,
      {
        ...(o.username !== undefined ? { username: o.username, password: o.password } : {}),
        ...(o.expiresIn ? { expires_in: o.expiresIn } : {}),
      },
    );
  }

  whoami(): Promise<{ user: string; admin: boolean }> {
    return this.#json("GET", `${this.mount}/auth/whoami`);
  }

  createUser(name: string, password: string, admin = false) {
    return this.#json<UserView>("POST", `${this.mount}/users`, { name, password, admin });
  }

  listUsers(): Promise<Collection<UserView>> {
    return this.#json("GET", `${this.mount}/users`);
  }

  /** Delete a user (admins): their password and tokens stop working at once. */
  async deleteUser(name: string): Promise<void> {
    const res = await this.#request("DELETE", `${this.mount}/users/${encodeURIComponent(name)}`);
    await res.body?.cancel();
  }

  /** Disable a user (their password and tokens are refused), or enable them again (admins). */
  setUserDisabled(name: string, disabled: boolean): Promise<UserView> {
    return this.#json("PATCH", `${this.mount}/users/${encodeURIComponent(name)}`, { disabled });
  }

  /** Revoke every token of a user issued until now (one's own, or anyone's for admins). */
  revokeTokens(name: string): Promise<UserView> {
    return this.#json("POST", `${this.mount}/users/${encodeURIComponent(name)}/revoke-tokens`);
  }
}
