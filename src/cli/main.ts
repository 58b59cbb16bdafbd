// `gridq`: argv → SDK call → output. No logic of its own beyond presentation.

import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command, Option } from "commander";
import type { JobView } from "../protocol/job-types.ts";
import { GridqApiError } from "../sdk/client.ts";
import { formatJobInfo, formatJobTable, makeOutput } from "./output.ts";
import { readSecret } from "./prompt.ts";
import {
  credentialsFile,
  type GlobalOptions,
  homeDir,
  makeClient,
  readCredentials,
  serverUrl,
} from "./session.ts";
import { shellJoin } from "./shell-quote.ts";
import { addUserAdminCommands } from "./user-commands.ts";

const now = () => Date.now() / 1000;

/** The exit status a finished job gives the shell: its own, or 1 when it never produced one. */
export function exitStatusOf(job: JobView): number {
  if (job.exit_code !== undefined) return Math.min(255, Math.max(0, job.exit_code));
  return job.state === "terminated" ? 0 : 1;
}

function ids(values: string[]): number[] {
  return values.map((v) => {
    if (!/^\d+$/.test(v) || Number(v) < 1)
      throw new UsageError(`'${v}' is not a job id (a positive integer)`);
    return Number(v);
  });
}

class UsageError extends Error {}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** `--json`, `--url` and `--site` are accepted after the verb too (`gridq list --json`). */
function common(cmd: Command): Command {
  return cmd
    .option("--json", "machine-readable output")
    .option("--url <url>", "server URL")
    .option("--site <site>", "site");
}

export function buildProgram(): Command {
  const program = new Command("gridq")
    .description("gridq: submit, watch and manage jobs")
    .enablePositionalOptions()
    .addOption(new Option("--url <url>", "server URL (default: $GRIDQ_URL, then the credentials file)"))
    .option("--site <site>", "site (default: $GRIDQ_SITE, then local)", process.env.GRIDQ_SITE ?? "local")
    .option("--json", "machine-readable output");

  program
    .command("serve")
    .description("run the server with its embedded agent")
    .option("--host <host>", "address to listen on")
    .option("--port <port>", "port to listen on (0: any free port)")
    .option("--config <file>", "YAML configuration file")
    .option(
      "--reference <path>",
      "git repository of the platform description (default: one describing this machine)",
    )
    .action(async (o: { host?: string; port?: string; config?: string; reference?: string }) => {
      const { resolveConfig } = await import("../config/config.ts");
      const { startServer } = await import("../server/main.ts");
      const overrides: Record<string, unknown> = {};
      if (o.host) overrides["server.host"] = o.host;
      if (o.port !== undefined) overrides["server.port"] = o.port;
      if (o.reference) overrides["reference.path"] = o.reference;
      const config = resolveConfig({ env: process.env, ...(o.config ? { file: o.config } : {}), overrides });
      const server = await startServer(config);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
    });

  common(program.command("run"))
    .description("submit a job: gridq run [options] -- COMMAND [ARGS...]")
    .passThroughOptions()
    .option("-l, --resources <request>", "resource request, e.g. core=2,walltime=0:10:00")
    .option("-q, --queue <queue>", "queue")
    .option("-n, --name <name>", "job name")
    .option("-d, --directory <dir>", "working directory (default: the current one)")
    .option("--walltime <h:m:s>", "walltime")
    .option("--stdout <pattern>", "stdout file pattern (%jobid%, %jobname%)")
    .option("--stderr <pattern>", "stderr file pattern")
    .option("--project <project>", "project")
    .option("--hold", "submit on hold")
    .option("-p, --properties <filter>", "node filter, e.g. \"cluster='dahu' and gpu_count > 0\"")
    .option(
      "--after <id>",
      "start after job ID terminated with exit code 0 (or after:ID, afterany:ID); repeatable",
      (v: string, prev: string[] = []) => [...prev, /:/.test(v) ? v : `afterok:${v}`],
    )
    .option("--array <n>", "submit N jobs, each with GRIDQ_ARRAY_INDEX from 0")
    .option("-r, --reservation <'YYYY-MM-DD hh:mm:ss'>", "start exactly then (advance reservation)")
    .option("-w, --wait", "wait for the job to end and exit with its exit code")
    .argument("<command...>", "command and arguments")
    .action(
      async (command: string[], o: Record<string, string | string[] | boolean | undefined>, cmd: Command) => {
        const g = globals(cmd);
        const client = makeClient(g);
        const array = o.array === undefined ? undefined : Number(o.array);
        if (array !== undefined && !(Number.isInteger(array) && array >= 1))
          throw new UsageError("--array: expected a whole number of jobs, at least 1");
        const job = await client.submitJob(g.site, {
          command: shellJoin(command),
          directory: (o.directory as string | undefined) ?? process.cwd(),
          ...(o.resources ? { resources: o.resources as string } : {}),
          ...(o.queue ? { queue: o.queue as string } : {}),
          ...(o.name ? { name: o.name as string } : {}),
          ...(o.walltime ? { walltime: o.walltime as string } : {}),
          ...(o.stdout ? { stdout: o.stdout as string } : {}),
          ...(o.stderr ? { stderr: o.stderr as string } : {}),
          ...(o.project ? { project: o.project as string } : {}),
          ...(o.hold ? { hold: true } : {}),
          ...(o.properties ? { properties: o.properties as string } : {}),
          ...(o.after ? { dependencies: o.after as string[] } : {}),
          ...(array !== undefined ? { array } : {}),
          ...(o.reservation ? { reservation: o.reservation as string } : {}),
        });
        const out = makeOutput(Boolean(g.json));
        if (!o.wait) return out.print(String(job.uid), job);
        if (!g.json) process.stdout.write(`${job.uid}\n`);
        const done = await client.waitJob(g.site, job.uid);
        if (g.json) out.print("", done);
        if (done.state === "error")
          process.stderr.write(`gridq: job ${done.uid} ended in error: ${done.message ?? ""}\n`);
        process.exitCode = exitStatusOf(done);
      },
    );

  common(program.command("info"))
    .description("show jobs in detail")
    .argument("<ids...>")
    .action(async (values: string[], _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const client = makeClient(g);
      const jobs = await Promise.all(ids(values).map((id) => client.getJob(g.site, id)));
      makeOutput(Boolean(g.json)).print(jobs.map((j) => formatJobInfo(j, now())).join("\n\n"), jobs);
    });

  common(program.command("list"))
    .description("list jobs, newest first")
    .option("-s, --state <states>", "comma-separated states (waiting,running,...)")
    .option("-u, --user <user>", "only this user's jobs")
    .option("--name <name>", "only jobs with this name")
    .option("-q, --queue <queue>", "only this queue")
    .option("--limit <n>", "at most this many", "50")
    .option("--offset <n>", "skip this many", "0")
    .action(async (o: Record<string, string | undefined>, cmd: Command) => {
      const g = globals(cmd);
      const r = await makeClient(g).listJobs(g.site, {
        state: o.state,
        user: o.user,
        name: o.name,
        queue: o.queue,
        limit: Number(o.limit),
        offset: Number(o.offset),
      });
      makeOutput(Boolean(g.json)).print(r.items.length ? formatJobTable(r.items, now()) : "no jobs", r);
    });

  common(program.command("stop"))
    .description("cancel jobs (waiting or running; a running job's processes are killed)")
    .argument("<ids...>")
    .action(async (values: string[], _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const client = makeClient(g);
      for (const id of ids(values)) await client.cancelJob(g.site, id);
      makeOutput(Boolean(g.json)).print(`stop requested for ${values.join(" ")}`, { stopped: ids(values) });
    });

  for (const [verb, what] of [
    ["hold", "hold waiting jobs: they keep their place but are not started until resumed"],
    ["resume", "resume held jobs: they wait to be started again"],
  ] as const) {
    common(program.command(verb))
      .description(what)
      .argument("<ids...>")
      .action(async (values: string[], _o: unknown, cmd: Command) => {
        const g = globals(cmd);
        const client = makeClient(g);
        const jobs = [];
        for (const id of ids(values)) jobs.push(await client.holdJob(g.site, id, verb));
        makeOutput(Boolean(g.json)).print(jobs.map((j) => `${j.uid} ${j.state}`).join("\n"), jobs);
      });
  }

  common(program.command("wait"))
    .description("wait for jobs to end; exit with the last non-zero exit code (0 if all succeeded)")
    .argument("<ids...>")
    .action(async (values: string[], _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const client = makeClient(g);
      const jobs = await Promise.all(ids(values).map((id) => client.waitJob(g.site, id)));
      makeOutput(Boolean(g.json)).print(
        jobs.map((j) => `${j.uid} ${j.state} ${j.exit_code ?? "-"}`).join("\n"),
        jobs,
      );
      process.exitCode = jobs.map(exitStatusOf).reduce((a, b) => (b !== 0 ? b : a), 0);
    });

  common(program.command("output"))
    .description("print a job's output (kept on its head node, read through its agent)")
    .option("--stderr", "the standard error instead")
    .option("-f, --follow", "wait for the job to start, then print new output until it ends")
    .argument("<id>")
    .action(async (value: string, o: { stderr?: boolean; follow?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const [id] = ids([value]);
      const client = makeClient(g);
      if (o.follow) await client.waitStarted(g.site, id!);
      const r = await client.output(g.site, id!, o.stderr ? "stderr" : "stdout", 0, Boolean(o.follow));
      if (r.body) for await (const chunk of r.body) process.stdout.write(chunk);
    });

  common(program.command("exec"))
    .description("from inside a job: run a command on one of its nodes: gridq exec --node NAME -- COMMAND")
    .passThroughOptions()
    .requiredOption("--node <name>", "a node of the job")
    .option("--job <id>", "the job (default: $GRIDQ_JOB_ID)")
    .argument("<command...>", "command and arguments")
    .action(async (command: string[], o: { node: string; job?: string }, cmd: Command) => {
      const g = globals(cmd);
      const jobValue = o.job ?? process.env.GRIDQ_JOB_ID;
      if (!jobValue) throw new UsageError("give --job, or run inside a job (GRIDQ_JOB_ID)");
      const [id] = ids([jobValue]);
      // One argument is a shell command line (`gridq exec --node n -- 'a | b'`); several are words.
      const line = command.length === 1 ? command[0]! : shellJoin(command);
      let code = 1;
      for await (const e of makeClient(g).exec(g.site, id!, o.node, line)) {
        if ("data" in e) (e.fd === 2 ? process.stderr : process.stdout).write(e.data);
        else if ("exit" in e) code = e.exit;
        else process.stderr.write(`gridq: exec on ${o.node}: ${e.error}\n`);
      }
      process.exitCode = code;
    });

  common(program.command("agent"))
    .description("run a node's agent: connect to the server, run the node's jobs")
    .requiredOption("--server <url>", "server URL (https:// verifies the certificate)")
    .requiredOption("--node <name>", "this node's name in the site")
    .option("--token-file <file>", "file holding the node's credential (else $GRIDQ_NODE_TOKEN)")
    .option("--state-dir <dir>", "folder for the agent's state (default: $GRIDQ_HOME/agent-NODE)")
    .option("--ca <file>", "PEM of a CA to trust for the server")
    .action(
      async (
        o: { server: string; node: string; tokenFile?: string; stateDir?: string; ca?: string },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        const { runRemoteAgent, readToken, AgentRefused } = await import("../agent/main.ts");
        const { resolveConfig } = await import("../config/config.ts");
        const config = resolveConfig({ env: process.env });
        const stop = new AbortController();
        process.once("SIGINT", () => stop.abort());
        process.once("SIGTERM", () => stop.abort());
        process.stderr.write(`gridq agent: node ${o.node} of site ${g.site}, server ${o.server}\n`);
        try {
          await runRemoteAgent(
            {
              server: o.server,
              site: g.site,
              node: o.node,
              token: readToken(o, process.env),
              stateDir: o.stateDir ?? join(homeDir(), `agent-${o.node}`),
              ...(o.ca ? { ca: readFileSync(o.ca, "utf8") } : {}),
              killGrace: config.jobs.killGrace,
              rules: config.jobs,
              umask: config.jobs.umask,
            },
            stop.signal,
          );
        } catch (e) {
          if (!(e instanceof AgentRefused)) throw e;
          process.stderr.write(`gridq agent: refused by the server: ${e.message}\n`);
          process.exitCode = 3;
        }
      },
    );

  common(program.command("nodes"))
    .description("list the site's nodes and their agents' liveness (alive, suspected, dead)")
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await makeClient(g).listAgents(g.site);
      makeOutput(Boolean(g.json)).print(
        r.items.map((n) => `${n.node} ${n.state}${n.connected ? "" : " (not connected)"}`).join("\n") ||
          "no nodes",
        r,
      );
    });

  const node = program.command("node").description("manage nodes (admins)");
  common(node.command("token"))
    .description("issue a node's agent credential (replaces the previous one); printed once")
    .argument("<name>")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const c = await makeClient(g).issueNodeCredential(g.site, name);
      makeOutput(Boolean(g.json)).print(c.token, c);
    });

  common(program.command("url"))
    .description("print the server URL clients should use")
    .action((_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const url = serverUrl(g, readCredentials());
      makeOutput(Boolean(g.json)).print(url, { url });
    });

  common(program.command("login"))
    .description("ask a password, store a token in the credentials file (mode 0600)")
    .option("-u, --user <name>", "user name", process.env.USER ?? "")
    .action(async (o: { user: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!o.user) throw new UsageError("give --user");
      const password = await readSecret(`Password for ${o.user}: `);
      const client = makeClient(g, false);
      const t = await client.issueToken({ username: o.user, password, expiresIn: 30 * 86400 });
      const path = credentialsFile();
      const prev = readCredentials();
      writeFileSync(
        path,
        `${JSON.stringify({ ...(prev ?? {}), url: client.url, user: t.user, token: t.access_token, expires_at: Math.floor(now()) + t.expires_in }, null, 2)}\n`,
        { mode: 0o600 },
      );
      chmodSync(path, 0o600);
      makeOutput(Boolean(g.json)).print(`logged in as ${t.user}; token stored in ${path}`, {
        user: t.user,
        path,
      });
    });

  const user = program.command("user").description("manage users (admins)");
  common(user.command("add"))
    .description("create a user; the password is asked at a terminal or read from standard input")
    .option("--admin", "make the user an admin")
    .argument("<name>")
    .action(async (name: string, o: { admin?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const password = await readSecret(`Password for ${name}: `);
      const u = await makeClient(g).createUser(name, password, Boolean(o.admin));
      makeOutput(Boolean(g.json)).print(`user ${u.name} created (${u.role})`, u);
    });
  addUserAdminCommands(program, user, { common, globals });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith("commander.")) {
      process.exitCode = err.exitCode ?? 2;
      return;
    }
    if (e instanceof GridqApiError) {
      process.stderr.write(`gridq: ${e.message} (${e.code}, HTTP ${e.status})\n`);
      process.exitCode = e.status === 401 ? 3 : 1;
    } else if (e instanceof UsageError) {
      process.stderr.write(`gridq: ${e.message}\n`);
      process.exitCode = 2;
    } else if (err.cause && (err.cause as { code?: string }).code === "ECONNREFUSED") {
      process.stderr.write(
        `gridq: cannot reach the server (${(err.cause as Error).message}); is 'gridq serve' running?\n`,
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(`gridq: ${err.message}\n`);
      process.exitCode = 1;
    }
  }
}

if (import.meta.main) await main(process.argv);
