// Bearer tokens: JWTs signed with HS256 by the server's key. Two kinds: a user's token (CLI, SDK,
// Accelerator clients) and a job's token (GRIDQ_TOKEN in a job's environment, scoped to that job).

import { createHmac } from "node:crypto";
import { decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import { GridqError } from "../domain/errors.ts";
import type { Clock } from "./context.ts";

export const TOKEN_KINDS = { user: "user", job: "job" } as const;

/** What a verified token says. `iat` has milliseconds, so a revocation stamp can fall between two. */
export type TokenClaims =
  | { kind: "user"; sub: string; iat: number; exp: number }
  | { kind: "job"; sub: string; iat: number; exp: number; site: string; job: number };

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

const EXPIRED = () =>
  new GridqError("GRIDQ_TOKEN_EXPIRED", "the bearer token has expired: authenticate again");

export class TokenSigner {
  readonly #secret: Uint8Array;
  readonly #clock: Clock;
  /** Verified tokens → claims: a signature is checked once per token, not once per request. */
  readonly #verified = new Map<string, TokenClaims>();

  constructor(secret: Uint8Array, clock: Clock) {
    this.#secret = secret;
    this.#clock = clock;
  }

  /**
   * A token for `sub`, issued now (with milliseconds), expiring at `exp` (unix seconds). Signed
   * here with node:crypto's HMAC, synchronously (microseconds): jose signs through WebCrypto,
   * one trip to libuv's thread pool per token, which the dispatch of every job would wait for,
   * behind password checks. The compact JWS form is fixed (RFC 7515); jose verifies it.
   */
  sign(
    c:
      | { kind: "user"; sub: string; exp: number }
      | { kind: "job"; sub: string; exp: number; site: string; job: number },
  ): { token: string; iat: number } {
    const iat = Math.floor(this.#clock.now() * 1000) / 1000;
    const extra = c.kind === "job" ? { site: c.site, job: c.job } : {};
    const payload = { kind: c.kind, ...extra, sub: c.sub, iat, exp: c.exp, iss: "gridq" };
    const signed = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    const mac = createHmac("sha256", this.#secret).update(signed).digest("base64url");
    return { token: `${signed}.${mac}`, iat };
  }

  /**
   * The claims of a token signed by this key and not expired (a job's token: its expiry is the
   * caller's to check against the job); throws 401 errors otherwise.
   */
  async verify(token: string): Promise<TokenClaims> {
    const hit = this.#verified.get(token);
    if (hit) {
      if (hit.kind === "job" || hit.exp > this.#clock.now()) return hit;
      this.#verified.delete(token);
      throw EXPIRED();
    }
    let claims: TokenClaims;
    try {
      // A job's token lives as long as its job (walltime changes included): its `exp` is the
      // walltime granted at issue, and the caller checks the job's current one instead
      // (Authenticator.verifyToken). The signature is checked all the same.
      const unverified = decodeJwt(token);
      const at =
        unverified.kind === TOKEN_KINDS.job && typeof unverified.iat === "number" ? unverified.iat : null;
      const { payload: p } = await jwtVerify(token, this.#secret, {
        issuer: "gridq",
        algorithms: ["HS256"],
        currentDate: new Date((at ?? this.#clock.now()) * 1000),
      });
      if (typeof p.sub !== "string" || typeof p.exp !== "number") throw new Error("no subject or expiry");
      // Tokens from before token kinds carry no `kind` (and a `role` that is no longer read):
      // they are users' tokens. No `iat` reads as the oldest possible, so any revocation kills it.
      const iat = typeof p.iat === "number" ? p.iat : 0;
      if (p.kind === TOKEN_KINDS.job) {
        if (typeof p.site !== "string" || typeof p.job !== "number") throw new Error("job token without job");
        claims = { kind: "job", sub: p.sub, iat, exp: p.exp, site: p.site, job: p.job };
      } else if (p.kind === undefined || p.kind === TOKEN_KINDS.user) {
        claims = { kind: "user", sub: p.sub, iat, exp: p.exp };
      } else {
        throw new Error("unknown token kind");
      }
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw EXPIRED();
      throw new GridqError("GRIDQ_UNAUTHENTICATED", "the bearer token is not valid");
    }
    // Bounded: a flood of distinct valid tokens only costs re-verification.
    if (this.#verified.size >= 10_000) this.#verified.clear();
    this.#verified.set(token, claims);
    return claims;
  }
}
