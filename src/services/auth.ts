// Use cases: users, passwords (scrypt, memory-hard) and bearer tokens (JWT, HS256).

import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { GridqError } from "../domain/errors.ts";
import type { UserRecord, UserRole } from "../domain/job.ts";
import type { Actor, ServiceDeps } from "./context.ts";

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** scrypt with N=2^15, r=8: 32 MiB and tens of milliseconds per check, by design. */
const KDF = { N: 2 ** 15, r: 8, p: 1, keylen: 32 } as const;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KDF.keylen, {
    N: KDF.N,
    r: KDF.r,
    p: KDF.p,
    maxmem: 128 * 1024 * 1024,
  });
  return `scrypt$${KDF.N}$${KDF.r}$${KDF.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const [alg, n, r, p, salt, key] = stored.split("$");
  if (alg !== "scrypt" || !salt || !key) return false;
  const expected = Buffer.from(key, "base64");
  const got = await scrypt(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * 1024 * 1024,
  });
  return timingSafeEqual(expected, got);
}

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

export function checkPassword(password: string): void {
  if (password.length < 8 || password.length > 1024) {
    throw new GridqError("GRIDQ_VALIDATION", "password: 8 to 1024 characters", { field: "password" });
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
  };
  await deps.store.insertUser(user);
  return user;
}

/** A random password people can type: 24 characters from a 62-letter alphabet. */
export function generatePassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  return [...randomBytes(24)].map((b) => alphabet[b % alphabet.length]).join("");
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  tokenType: "Bearer";
}

/** Signs and checks bearer tokens, and checks passwords with a short cache for Basic auth. */
export class Authenticator {
  readonly #deps: ServiceDeps;
  readonly #secret: Uint8Array;
  /** sha256(secret-salted credentials) → actor, for `basicCacheTtl` seconds. */
  readonly #basicCache = new Map<string, { actor: Actor; until: number }>();
  readonly #cacheSalt = randomBytes(16);
  /** Verified tokens → actor and expiry: a signature is checked once per token, not per request. */
  readonly #tokenCache = new Map<string, { actor: Actor; exp: number }>();

  constructor(deps: ServiceDeps, secret: Uint8Array) {
    this.#deps = deps;
    this.#secret = secret;
  }

  async checkPassword(name: string, password: string): Promise<Actor> {
    const key = createHash("sha256")
      .update(this.#cacheSalt)
      .update(name)
      .update("\0")
      .update(password)
      .digest("hex");
    const now = this.#deps.clock.now();
    const hit = this.#basicCache.get(key);
    if (hit && hit.until > now) return hit.actor;
    const user = await this.#deps.store.getUser(name);
    // Hash even for an unknown user, so response time does not reveal which names exist.
    const ok = user
      ? await verifyPassword(user.passwordHash, password)
      : await hashPassword(password).then(() => false);
    if (!user || !ok) throw new GridqError("GRIDQ_UNAUTHENTICATED", "invalid user name or password");
    const actor = { name: user.name, admin: user.role === "admin" };
    if (this.#deps.config.auth.basicCacheTtl > 0) {
      if (this.#basicCache.size > 10_000) this.#basicCache.clear();
      this.#basicCache.set(key, { actor, until: now + this.#deps.config.auth.basicCacheTtl });
    }
    return actor;
  }

  async issueToken(actor: Actor, ttl?: number): Promise<IssuedToken> {
    const expiresIn = Math.max(
      1,
      Math.min(ttl ?? this.#deps.config.auth.tokenTtl, this.#deps.config.auth.maxTokenTtl),
    );
    const now = Math.floor(this.#deps.clock.now());
    const token = await new SignJWT({ role: actor.admin ? "admin" : "user" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(actor.name)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn)
      .setIssuer("gridq")
      .sign(this.#secret);
    return { token, expiresIn, tokenType: "Bearer" };
  }

  async verifyToken(token: string): Promise<Actor> {
    const hit = this.#tokenCache.get(token);
    if (hit) {
      if (hit.exp > this.#deps.clock.now()) return hit.actor;
      this.#tokenCache.delete(token);
      throw new GridqError("GRIDQ_TOKEN_EXPIRED", "the bearer token has expired: authenticate again");
    }
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        issuer: "gridq",
        algorithms: ["HS256"],
        currentDate: new Date(this.#deps.clock.now() * 1000),
      });
      if (typeof payload.sub !== "string" || typeof payload.exp !== "number")
        throw new Error("no subject or expiry");
      const actor = { name: payload.sub, admin: payload.role === "admin" };
      // Bounded: a flood of distinct valid tokens only costs re-verification.
      if (this.#tokenCache.size >= 10_000) this.#tokenCache.clear();
      this.#tokenCache.set(token, { actor, exp: payload.exp });
      return actor;
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) {
        throw new GridqError("GRIDQ_TOKEN_EXPIRED", "the bearer token has expired: authenticate again");
      }
      throw new GridqError("GRIDQ_UNAUTHENTICATED", "the bearer token is not valid");
    }
  }
}
