// Passwords: scrypt (memory-hard) hashing and checking, with a bound on concurrent KDF runs.

import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { GridqError } from "../domain/errors.ts";

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** scrypt with N=2^15, r=8: 32 MiB and tens of milliseconds per check, by design. */
const KDF = { N: 2 ** 15, r: 8, p: 1, keylen: 32 } as const;

/**
 * At most this many scrypt runs at once, on libuv's pool of 4 threads (Node's default): the other
 * threads stay free for what signs and verifies tokens (WebCrypto HMAC), reads files and resolves
 * names, however many wrong passwords arrive. Runs beyond it wait in `KDF_QUEUE`, which is
 * bounded too: past it a check is refused at once (the caller answers 429).
 */
export const KDF_CONCURRENCY = 2;
const KDF_QUEUE = 64;

/** A counting semaphore: `run` waits for a slot, or throws GRIDQ_RATE_LIMITED when the queue is full. */
export class Semaphore {
  readonly #slots: number;
  readonly #maxWaiting: number;
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(slots: number, maxWaiting: number) {
    this.#slots = slots;
    this.#maxWaiting = maxWaiting;
  }

  get busy(): number {
    return this.#busy;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#busy >= this.#slots) {
      if (this.#waiting.length >= this.#maxWaiting) {
        throw new GridqError("GRIDQ_RATE_LIMITED", "too many password checks in progress: retry shortly", {
          retry_after: 1,
        });
      }
      // Woken by a finishing run, which hands its slot over (busy stays counted).
      await new Promise<void>((r) => this.#waiting.push(r));
    } else {
      this.#busy++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#busy--;
    }
  }
}

const kdfSlots = new Semaphore(KDF_CONCURRENCY, KDF_QUEUE);

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await kdfSlots.run(() =>
    scrypt(password, salt, KDF.keylen, { N: KDF.N, r: KDF.r, p: KDF.p, maxmem: 128 * 1024 * 1024 }),
  );
  return `scrypt$${KDF.N}$${KDF.r}$${KDF.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const [alg, n, r, p, salt, key] = stored.split("$");
  if (alg !== "scrypt" || !salt || !key) return false;
  const expected = Buffer.from(key, "base64");
  const got = await kdfSlots.run(() =>
    scrypt(password, Buffer.from(salt, "base64"), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: 256 * 1024 * 1024,
    }),
  );
  return timingSafeEqual(expected, got);
}

/** A KDF run whose result is thrown away: an unknown user costs as much as a known one. */
export async function burnPasswordCheck(password: string): Promise<false> {
  await hashPassword(password);
  return false;
}

export function checkPassword(password: string): void {
  if (password.length < 8 || password.length > 1024) {
    throw new GridqError("GRIDQ_VALIDATION", "password: 8 to 1024 characters", { field: "password" });
  }
}

/** A random password people can type: 24 characters from a 57-letter alphabet. */
export function generatePassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  return [...randomBytes(24)].map((b) => alphabet[b % alphabet.length]).join("");
}
