// `gridq user list|delete|disable|enable` and `gridq token revoke`: argv → SDK call → output.

import type { Command } from "commander";
import { makeOutput } from "./output.ts";
import { type GlobalOptions, makeClient } from "./session.ts";

interface Helpers {
  common(cmd: Command): Command;
  globals(cmd: Command): GlobalOptions;
}

export function addUserAdminCommands(program: Command, user: Command, { common, globals }: Helpers): void {
  common(user.command("list"))
    .description("list users, their role and whether they are disabled")
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await makeClient(g).listUsers();
      makeOutput(Boolean(g.json)).print(
        r.items.map((u) => `${u.name} ${u.role}${u.disabled ? " disabled" : ""}`).join("\n"),
        r,
      );
    });
  common(user.command("delete"))
    .description("delete a user: their password and every token stop working at once (jobs stay)")
    .argument("<name>")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      await makeClient(g).deleteUser(name);
      makeOutput(Boolean(g.json)).print(`user ${name} deleted`, { name, deleted: true });
    });
  for (const [verb, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    common(user.command(verb))
      .description(
        disabled
          ? "disable a user: their password and tokens are refused until enabled again"
          : "enable a disabled user again",
      )
      .argument("<name>")
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const g = globals(cmd);
        const u = await makeClient(g).setUserDisabled(name, disabled);
        makeOutput(Boolean(g.json)).print(`user ${u.name} ${verb}d`, u);
      });
  }

  const token = program.command("token").description("manage bearer tokens");
  common(token.command("revoke"))
    .description("revoke every token issued until now to you (or, for admins, to --user), jobs' included")
    .option("-u, --user <name>", "whose tokens (default: yours)")
    .action(async (o: { user?: string }, cmd: Command) => {
      const g = globals(cmd);
      const client = makeClient(g);
      const name = o.user ?? (await client.whoami()).user;
      const u = await client.revokeTokens(name);
      makeOutput(Boolean(g.json)).print(
        `tokens of ${u.name} issued before ${new Date((u.tokens_not_before ?? 0) * 1000).toISOString()} revoked` +
          (o.user ? "" : ": log in again (gridq login)"),
        u,
      );
    });
}
