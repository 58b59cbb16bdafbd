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

/**
 * Why a change the store refused (`keepAnAdmin`) did not happen: the user is gone, or it is the
 * last enabled admin (nobody could administer the server then). The store checks and acts in one
 * statement, so two admins disabling each other at once leave one enabled.
 */
async function refusal(deps: ServiceDeps, name: string, what: string): Promise<GridqError> {
  if (!(await deps.store.getUser(name)))
    return new GridqError("GRIDQ_NOT_FOUND", `no user '${name}'`, { name });
  return new GridqError("GRIDQ_CONFLICT", `cannot ${what} '${name}': it is the last enabled admin`);
}

/** Delete a user: their credentials and every token stop working; their jobs stay. */
export async function deleteUser(deps: ServiceDeps, auth: Authenticator, actor: Actor, name: string) {
  mustBeAdmin(actor, "delete users");
  await existing(deps, name);
  const deleted = await deps.store.deleteUser(name, { keepAnAdmin: true });
  auth.userChanged(name);
  if (!deleted) throw await refusal(deps, name, "delete");
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
  await existing(deps, name);
  const done = await deps.store.updateUser(name, { disabled }, { keepAnAdmin: disabled });
  auth.userChanged(name);
  if (!done) throw await refusal(deps, name, "disable");
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
