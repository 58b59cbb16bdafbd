// Use cases: who a request is. Passwords (rate-limited), bearer tokens (users' and jobs'), and the
// user row behind both, read on every request through a short cache.

import { createHash, randomBytes } from "node:crypto";
import { GridqError } from "../domain/errors.ts";
import type { JobRecord, UserRecord, UserRole } from "../domain/job.ts";
import type { Actor, ServiceDeps } from "./context.ts";
import { LoginLimiter } from "./login-limiter.ts";
import { burnPasswordCheck, checkPassword, hashPassword, verifyPassword } from "./passwords.ts";
import { type TokenClaims, TokenSigner } from "./tokens.ts";

export { checkPassword, generatePassword, hashPassword, verifyPassword } from "./passwords.ts";

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export function checkUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new GridqError(
      "GRIDQ_VALIDATION",
      `user name '${name}': 1 to 32 letters, digits, '_', '.', '-', starting with a letter or '_'`,
      { field: "name" },
    );
  }
}

export async function createUser(
  deps: ServiceDeps,
  name: string,
  password: string,
  role: UserRole,
): Promise<UserRecord> {
  checkUserName(name);
  checkPassword(password);
  if (await deps.store.getUser(name)) {
    throw new GridqError("GRIDQ_USER_EXISTS", `user '${name}' exists already`, { name });
  }
  const user: UserRecord = {
    name,
    role,
    passwordHash: await hashPassword(password),
    createdAt: deps.clock.now(),
    disabled: false,
    tokensNotBefore: null,
  };
  try {
    await deps.store.insertUser(user);
  } catch (e) {
    // Two creations of one name at once both pass the check above: the store's unique key
    // refuses the second, which is the caller's conflict, not a server error.
    if (await deps.store.getUser(name)) {
      throw new GridqError("GRIDQ_USER_EXISTS", `user '${name}' exists already`, { name });
    }
    throw e;
  }
  return user;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  tokenType: "Bearer";
}

/** Seconds a job's token outlives the job's walltime (the end of the job takes some time). */
export const JOB_TOKEN_SLACK = 600;

const revoked = (message: string) => new GridqError("GRIDQ_TOKEN_REVOKED", message);

/** Checks credentials into an `Actor`, and issues tokens. */
export class Authenticator {
  readonly #deps: ServiceDeps;
  readonly #tokens: TokenSigner;
  readonly #limiter: LoginLimiter;
  /** sha256(salted credentials) → the user row's password hash then, for `basicCacheTtl` seconds. */
  readonly #basicCache = new Map<string, { name: string; hash: string; until: number }>();
  readonly #cacheSalt = randomBytes(16);
  /**
   * User rows by name, each for at most `userCacheTtl` seconds: a change made through this
   * server is seen at once (`userChanged`), one made through another server sharing the store
   * within that bound.
   */
  readonly #users = new Map<string, { row: Promise<UserRecord | undefined>; until: number }>();

  constructor(deps: ServiceDeps, secret: Uint8Array) {
    this.#deps = deps;
    this.#tokens = new TokenSigner(secret, deps.clock);
    this.#limiter = new LoginLimiter(deps.config.auth.lockout);
  }

  /** The stored user, through the cache. */
  user(name: string): Promise<UserRecord | undefined> {
    const now = this.#deps.clock.now();
    const hit = this.#users.get(name);
    if (hit && hit.until > now) return hit.row;
    const row = this.#deps.store.getUser(name);
    if (this.#users.size >= 10_000) this.#users.clear();
    this.#users.set(name, { row, until: now + this.#deps.config.auth.userCacheTtl });
    // A failed read is not remembered.
    row.catch(() => this.#users.delete(name));
    return row;
  }

  /** Forget what this server knows of a user (call after every change of its row). */
  userChanged(name: string): void {
    this.#users.delete(name);
  }

  /**
   * A user name and password from `address` (the client's IP). Refused with 429 while the
   * account or the address is locked out; every wrong password counts towards a lockout.
   */
  async checkPassword(name: string, password: string, address: string): Promise<Actor> {
    const now = this.#deps.clock.now();
    // Checked first, even before the cache: a locked account answers nothing about a guess.
    this.#limiter.check(name, address, now);
    const key = createHash("sha256")
      .update(this.#cacheSalt)
      .update(name)
      .update("\0")
      .update(password)
      .digest("hex");
    const hit = this.#basicCache.get(key);
    if (hit && hit.until > now) {
      const user = await this.user(name);
      // The password may have changed (or the user gone) since: then check it afresh.
      if (user && user.passwordHash === hit.hash) return this.#actorOf(user);
      this.#basicCache.delete(key);
    }
    const user = await this.user(name);
    // Hash even for an unknown user, so response time does not reveal which names exist.
    const ok = await this.#limiter.guard(name, address, () =>
      user ? verifyPassword(user.passwordHash, password) : burnPasswordCheck(password),
    );
    if (!user || !ok) {
      this.#limiter.failed(name, address, this.#deps.clock.now(), user !== undefined);
      throw new GridqError("GRIDQ_UNAUTHENTICATED", "invalid user name or password");
    }
    this.#limiter.succeeded(name, address);
    const actor = this.#actorOf(user);
    if (this.#deps.config.auth.basicCacheTtl > 0) {
      if (this.#basicCache.size > 10_000) this.#basicCache.clear();
      this.#basicCache.set(key, {
        name,
        hash: user.passwordHash,
        until: now + this.#deps.config.auth.basicCacheTtl,
      });
    }
    return actor;
  }

  /** The actor of a bearer token: its user must exist, be enabled, and not have revoked it. */
  async verifyToken(token: string): Promise<Actor> {
    const claims = await this.#tokens.verify(token);
    const user = await this.user(claims.sub);
    if (!user) throw revoked(`the token's user '${claims.sub}' does not exist`);
    // A token older than its user was issued to an earlier user of that name (deleted, then
    // the name created again): it is not the new user's. `iat` is to the millisecond.
    if (claims.iat < Math.floor(user.createdAt * 1000) / 1000) {
      throw revoked(`the token was issued to an earlier user named '${user.name}'`);
    }
    if (user.tokensNotBefore !== null && claims.iat < user.tokensNotBefore) {
      throw revoked(`the tokens of '${user.name}' issued before ${isoOf(user.tokensNotBefore)} are revoked`);
    }
    if (claims.kind === "job") await this.#jobTokenAlive(claims);
    return { ...this.#actorOf(user, claims), tokenExpires: claims.exp };
  }

  /**
   * A job's token lives while its job may run: until its start (or the token's issue, before the
   * start) plus its walltime *now* (an extension extends the token, a reduction shortens it)
   * plus `JOB_TOKEN_SLACK`, and no longer than `JOB_TOKEN_SLACK` after its end. The job row is
   * read afresh: the walltime may have changed on another server.
   */
  async #jobTokenAlive(claims: Extract<TokenClaims, { kind: "job" }>): Promise<void> {
    const job = await this.#deps.store.getJob(claims.job);
    const now = this.#deps.clock.now();
    if (!job || job.site !== claims.site || job.user !== claims.sub) {
      throw revoked(`the token's job ${claims.job} does not exist`);
    }
    const until = Math.min(
      (job.startedAt ?? claims.iat) + job.walltime + JOB_TOKEN_SLACK,
      job.stoppedAt === null ? Number.POSITIVE_INFINITY : job.stoppedAt + JOB_TOKEN_SLACK,
    );
    if (now > until) throw new GridqError("GRIDQ_TOKEN_EXPIRED", `the token of job ${job.id} has expired`);
  }

  /**
   * A user's token, living `ttl` seconds (default `tokenTtl`, at most `maxTokenTtl`); when the
   * actor came with a token, never longer than that token lives.
   */
  async issueToken(actor: Actor, ttl?: number): Promise<IssuedToken> {
    if (actor.job) {
      throw new GridqError("GRIDQ_TOKEN_SCOPE", "a job's token cannot be exchanged for another token");
    }
    const now = this.#deps.clock.now();
    const { tokenTtl, maxTokenTtl } = this.#deps.config.auth;
    let exp = Math.floor(now) + Math.max(1, Math.min(ttl ?? tokenTtl, maxTokenTtl));
    if (actor.tokenExpires !== undefined) exp = Math.min(exp, Math.floor(actor.tokenExpires));
    const { token } = this.#tokens.sign({ kind: "user", sub: actor.name, exp });
    return { token, expiresIn: Math.max(0, exp - Math.floor(now)), tokenType: "Bearer" };
  }

  /**
   * The token a job gets (GRIDQ_TOKEN, for `gridq exec`): it names the job, acts as its
   * submitter on that job only, and expires with the job's walltime plus `JOB_TOKEN_SLACK`
   * (its `exp` says the walltime granted now; `#jobTokenAlive` follows later changes).
   */
  async issueJobToken(job: Pick<JobRecord, "id" | "site" | "user" | "walltime">): Promise<string> {
    const exp = Math.ceil(this.#deps.clock.now()) + job.walltime + JOB_TOKEN_SLACK;
    return this.#tokens.sign({ kind: "job", sub: job.user, exp, site: job.site, job: job.id }).token;
  }

  #actorOf(user: UserRecord, claims?: TokenClaims): Actor {
    if (user.disabled) {
      throw new GridqError("GRIDQ_USER_DISABLED", `user '${user.name}' is disabled: an admin can enable it`);
    }
    // The role is the store's, never the token's; a job never has more rights than a user.
    if (claims?.kind === "job")
      return { name: user.name, admin: false, job: { site: claims.site, id: claims.job } };
    return { name: user.name, admin: user.role === "admin" };
  }
}

const isoOf = (t: number) => new Date(t * 1000).toISOString();
