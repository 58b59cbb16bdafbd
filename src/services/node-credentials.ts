// Use case: per-node credentials for remote agents. An admin issues one for a node of a site;
// the server keeps only its SHA-256 (a 256-bit random secret needs no slow hash), so a stolen
// database gives no credential. Issuing again replaces (revokes) the previous one.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { GridqError } from "../domain/errors.ts";
import type { Actor, ServiceDeps } from "./context.ts";

const PREFIX = "gqn_";

const digest = (token: string) => createHash("sha256").update(token).digest();

function checkNode(deps: ServiceDeps, site: string, node: string): void {
  if (!deps.nodes.sites().includes(site)) throw new GridqError("GRIDQ_UNKNOWN_SITE", `no site '${site}'`);
  if (!deps.nodes.nodes(site).some((n) => n.uid === node)) {
    throw new GridqError("GRIDQ_NOT_FOUND", `no node '${node}' in site '${site}'`);
  }
}

export async function issueNodeCredential(
  deps: ServiceDeps,
  actor: Actor,
  site: string,
  node: string,
): Promise<{ site: string; node: string; token: string }> {
  if (!actor.admin) throw new GridqError("GRIDQ_FORBIDDEN", "only admins issue node credentials");
  checkNode(deps, site, node);
  const token = `${PREFIX}${randomBytes(32).toString("base64url")}`;
  await deps.store.setNodeCredential(site, node, digest(token).toString("hex"), deps.clock.now());
  deps.log.info({ site, node, by: actor.name }, "node credential issued");
  return { site, node, token };
}

/** Is this the current credential of that node? Never throws on bad input. */
export async function checkNodeCredential(
  deps: ServiceDeps,
  site: string,
  node: string,
  token: string,
): Promise<boolean> {
  if (!token.startsWith(PREFIX) || token.length > 200) return false;
  if (!deps.nodes.nodes(site).some((n) => n.uid === node)) return false;
  const stored = await deps.store.getNodeCredential(site, node);
  if (!stored) return false;
  const want = Buffer.from(stored, "hex");
  const got = digest(token);
  return want.length === got.length && timingSafeEqual(want, got);
}
