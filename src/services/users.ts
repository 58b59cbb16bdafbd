// Use cases: administer users: delete, disable or enable, revoke tokens. Every change is seen by
// this server's next request at once, and by other servers within `auth.userCacheTtl`.

import { GridqError } from "../domain/errors.ts";
import type { UserRecord } from "../domain/job.ts";
import type { Authenticator } from "./auth.ts";
import type { Actor, ServiceDeps } from "./context.ts";

function mustBeAdmin(actor: Actor, what: string): void {
  if (!actor.admin) throw new GridqError("GRIDQ_FORBIDDEN", `only admins may ${what}`);
}

async function existing(deps: ServiceDeps, name: string): Promise<UserRecord> {
  const user = await deps.store.getUser(name);
  if (!user) throw new GridqError("GRIDQ_NOT_FOUND", `no user '${name}'`, { name });
  return user;
}

/** Refuse to leave the server without an enabled admin (nobody could administer it then). */
async function keepAnAdmin(deps: ServiceDeps, user: UserRecord, what: string): Promise<void> {
  if (user.role !== "admin" || user.disabled) return;
  const others = (await deps.store.listUsers()).filter(
    (u) => u.role === "admin" && !u.disabled && u.name !== user.name,
  );
  if (others.length === 0) {
    throw new GridqError("GRIDQ_CONFLICT", `cannot ${what} '${user.name}': it is the last enabled admin`);
  }
}

/** Delete a user: their credentials and every token stop working; their jobs stay. */
export async function deleteUser(deps: ServiceDeps, auth: Authenticator, actor: Actor, name: string) {
  mustBeAdmin(actor, "delete users");
  const user = await existing(deps, name);
  await keepAnAdmin(deps, user, "delete");
  const deleted = await deps.store.deleteUser(name);
  auth.userChanged(name);
  if (!deleted) throw new GridqError("GRIDQ_NOT_FOUND", `no user '${name}'`, { name });
}

/** Disable (or enable again) a user: while disabled, their password and tokens are refused. */
export async function setUserDisabled(
  deps: ServiceDeps,
  auth: Authenticator,
  actor: Actor,
  name: string,
  disabled: boolean,
): Promise<UserRecord> {
  mustBeAdmin(actor, disabled ? "disable users" : "enable users");
  const user = await existing(deps, name);
  if (disabled) await keepAnAdmin(deps, user, "disable");
  await deps.store.updateUser(name, { disabled });
  auth.userChanged(name);
  return existing(deps, name);
}

/**
 * Revoke every token of a user issued until now (users' and jobs'): a "not before" stamp in the
 * user's row. A user may revoke their own; an admin anyone's. The caller's own token, if revoked,
 * stops working with the next request.
 */
export async function revokeTokens(
  deps: ServiceDeps,
  auth: Authenticator,
  actor: Actor,
  name: string,
): Promise<UserRecord> {
  if (name !== actor.name) mustBeAdmin(actor, "revoke another user's tokens");
  await existing(deps, name);
  // Milliseconds, as tokens' issue times: a token issued after this instant is never refused.
  await deps.store.updateUser(name, { tokensNotBefore: Math.floor(deps.clock.now() * 1000) / 1000 });
  auth.userChanged(name);
  return existing(deps, name);
}

/** A user as the API shows it (never the password hash). */
export function userView(u: UserRecord) {
  return {
    name: u.name,
    role: u.role,
    disabled: u.disabled,
    created_at: Math.floor(u.createdAt),
    ...(u.tokensNotBefore !== null ? { tokens_not_before: u.tokensNotBefore } : {}),
  };
}
