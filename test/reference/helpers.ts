// Test helpers for the reference API: a temp clone of the shared bundle, git runners, an app to inject.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { errorsPlugin } from "../../src/server/plugins/errors.ts";
import { type ReferenceRoutesOptions, referenceRoutes } from "../../src/server/routes/reference.ts";

const BUNDLE_CANDIDATES = [
  process.env.GRIDQ_REFDATA_BUNDLE,
  resolve(import.meta.dirname, "../../../shared/refdata/g5k-reference-3sites.bundle"),
  "/work/shared/refdata/g5k-reference-3sites.bundle",
].filter((p): p is string => typeof p === "string");

/** The shared bundle, or undefined when this checkout has no ../shared beside it. */
export const BUNDLE = BUNDLE_CANDIDATES.find((p) => existsSync(p));

export const HEAD_COMMIT = "e16164aca1aaddd62f729ef33b7698343e9de111";

export interface TempRepo {
  dir: string;
  git: (...args: string[]) => string;
  /** Runs git with extra environment (e.g. GIT_COMMITTER_DATE). */
  gitWith: (env: Record<string, string>, ...args: string[]) => string;
  cleanup: () => void;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "test@example.org",
  GIT_COMMITTER_NAME: "Test Author",
  GIT_COMMITTER_EMAIL: "test@example.org",
  GIT_CONFIG_NOSYSTEM: "1",
};

function runner(dir: string) {
  return (...args: string[]) => runWith(dir, {}, args);
}

function runWith(dir: string, env: Record<string, string>, args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], {
    encoding: "utf8",
    env: { ...GIT_ENV, ...env },
    maxBuffer: 64 << 20,
  }).trim();
}

/** Clones the 3-site bundle into a fresh temp folder (removed by cleanup). */
export function cloneRefdata(): TempRepo {
  if (!BUNDLE) throw new Error("refdata bundle not found");
  const root = mkdtempSync(join(tmpdir(), "gridq-ref-"));
  const dir = join(root, "ref");
  execFileSync("git", ["clone", "--quiet", "-b", "main", BUNDLE, dir], { env: GIT_ENV });
  return {
    dir,
    git: runner(dir),
    gitWith: (env, ...args) => runWith(dir, env, args),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** An empty repository on branch main, in a fresh temp folder. */
export function emptyRepo(): TempRepo {
  const root = mkdtempSync(join(tmpdir(), "gridq-ref-"));
  const dir = join(root, "repo");
  execFileSync("git", ["init", "--quiet", "--initial-branch=main", dir], { env: GIT_ENV });
  return {
    dir,
    git: runner(dir),
    gitWith: (env, ...args) => runWith(dir, env, args),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A Fastify app serving the reference routes only, with the app's real error handler. */
export async function referenceApp(options: ReferenceRoutesOptions): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(errorsPlugin);
  await app.register(referenceRoutes, options);
  await app.ready();
  return app;
}

export interface Link {
  rel: string;
  href: string;
  type: string;
}
