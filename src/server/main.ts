// `gridq serve`: opens the store, bootstraps the first start, wires services, the embedded
// agent and the HTTP server, and listens. The composition root of the server side.

import { type ChildProcess, fork } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import type { EmbeddedAgentOptions } from "../agent/embedded-main.ts";
import { accountFor } from "../agent/job-account.ts";
import { jobsFolderUnreachable } from "../agent/job-folder.ts";
import { defaultRunDir, removeRunDirIfEmpty } from "../agent/run-dir.ts";
import { jobBaseEnv } from "../agent/spawn-as-account.ts";
import type { GridqConfig } from "../config/config.ts";
import type { NodeInfo } from "../domain/node.ts";
import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";
import { ipcChannel } from "../protocol/ipc-channel.ts";
import { createLocalReference, readMachineFacts } from "../reference/local-reference.ts";
import { createReferenceNodeDirectory } from "../reference/reference-node-directory.ts";
import { ReferenceReader } from "../reference/reference-reader.ts";
import type { AgentHub } from "../services/agent-hub.ts";
import { Authenticator, createUser, generatePassword } from "../services/auth.ts";
import { type ServiceDeps, systemClock } from "../services/context.ts";
import { createControlPlane } from "../services/control-plane.ts";
import type { FactSink } from "../services/controller/facts.ts";
import { lockForOneServer } from "../store/one-server-lock.ts";
import { openStore } from "../store/open-store.ts";
import type { AppServices } from "./app-services.ts";
import { buildApp } from "./build-app.ts";
import { declaredNode, localNodeName, staticNodeDirectory } from "./local-node.ts";
import { loadTls, reloadCertificates, type SecureContextTarget, serverUrl, type TlsMaterial } from "./tls.ts";

export const VERSION = "0.1.0";

export interface Credentials {
  url: string;
  user: string;
  token: string;
  expires_at: number;
  /** PEM of the CA to trust for this server (self-signed TLS), when any. */
  ca?: string;
}

export function credentialsPath(home: string): string {
  return process.env.GRIDQ_CREDENTIALS ?? join(home, "credentials.json");
}

export function writeCredentials(path: string, c: Credentials): void {
  writeFileSync(path, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function loadOrCreateKey(path: string): Uint8Array {
  if (existsSync(path)) return new Uint8Array(readFileSync(path));
  const key = crypto.getRandomValues(new Uint8Array(32));
  writeFileSync(path, key, { mode: 0o600 });
  return key;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface Assembled {
  app: FastifyInstance;
  services: AppServices;
  /** The embedded agent's node, or null when the reference does not describe it. */
  node: NodeInfo | null;
  tls: TlsMaterial | null;
  close(): Promise<void>;
}

/** Wire store, services, the embedded agent and the app, without listening. */
export async function assemble(
  config: Readonly<GridqConfig>,
  opts: { logger?: boolean } = {},
): Promise<Assembled> {
  // The data folder can be crossed but not listed by others (0711): jobs running as another
  // account reach their own folder in the jobs folder inside it; every secret in it is 0600
  // (key, credentials, database) and the agent's state folder 0700.
  mkdirSync(config.home, { recursive: true, mode: 0o711 });
  chmodSync(config.home, 0o711);
  const defaultJobs = join(config.home, "jobs");
  mkdirSync(config.jobs.defaultDirectory, { recursive: true, mode: 0o711 });
  // Jobs that name no folder run in their user's own folder in it (`jobs/<user>`, 0700, made by
  // the agent for the job's account): the jobs folder itself is the server's, crossable, not
  // listable and writable by no one else (earlier versions made it 1777: closed here).
  if (config.jobs.defaultDirectory === defaultJobs) chmodSync(defaultJobs, 0o711);
  const log = pino({
    level: opts.logger === false ? "silent" : config.server.logLevel,
    redact: ["req.headers.authorization", "*.password", "*.token", "*.access_token"],
  });
  // A root server runs jobs as their users' accounts: a jobs folder under a folder they cannot
  // cross (the default data folder in /root, 0700) fails every job that names no directory.
  const unreachable = process.getuid?.() === 0 ? jobsFolderUnreachable(config.jobs.defaultDirectory) : null;
  if (unreachable) log.warn(unreachable);
  const store = openStore(config.db, {
    onError: (e) => log.warn({ err: e }, "a database connection failed"),
  });
  // A store that only one server may use (SQLite) is locked until close: a second server on it
  // would plan the same nodes from its own memory. Several servers may share PostgreSQL.
  let lock: { release(): void } | null = null;
  try {
    if (!store.capabilities.multiProcess)
      lock = lockForOneServer(`${config.db.path}.lock`, `the database ${config.db.path}`);
    await store.migrate();
  } catch (e) {
    lock?.release();
    await store.close();
    throw e;
  }

  // The platform description: the scheduler's nodes and the reference API both read it.
  const nodeName = config.agent.node ?? localNodeName();
  let refPath = config.reference.path;
  if (!refPath) {
    refPath = join(config.home, "reference");
    const facts = readMachineFacts();
    createLocalReference(
      refPath,
      config.site.cores ? { ...facts, cores: config.site.cores, threads: config.site.cores } : facts,
      {
        site: config.site.name,
        cluster: config.site.cluster,
        node: nodeName,
      },
    );
  }
  const reader = new ReferenceReader(refPath, {
    prefix: config.reference.prefix,
    ...(config.reference.branch ? { branch: config.reference.branch } : {}),
  });
  // The reference can change before the control plane exists: its facts go to the inbox then.
  let inbox: FactSink | null = null;
  // Nodes declared in the configuration (`site.nodes`), run by `gridq agent`s, stand in for the
  // reference's until the reference describes them; then no embedded agent starts.
  const declared = config.site.nodes.map((n) =>
    declaredNode(config.site.name, config.site.cluster, n.name, n.cores),
  );
  const fromReference = await createReferenceNodeDirectory(reader, {
    // A changed description may make room (or remove nodes): plan every site again.
    onChange: () => void inbox?.post({ type: "tick", nodesChanged: true }),
    onError: (e) => log.warn({ err: e }, "reading the reference failed"),
  });
  const nodes =
    declared.length > 0
      ? { ...staticNodeDirectory(declared), close: () => fromReference.close() }
      : fromReference;
  const node =
    declared.length > 0
      ? undefined
      : nodes
          .sites()
          .flatMap((s) => nodes.nodes(s))
          .find((n) => n.uid === nodeName);
  if (!node && declared.length === 0) {
    log.warn({ node: nodeName }, "the embedded agent's node is not in the reference: it will run no jobs");
  }
  const deps: ServiceDeps = { store, clock: systemClock, config, nodes, log };
  const auth = new Authenticator(deps, loadOrCreateKey(join(config.home, "jwt.key")));
  // Jobs call the server for `gridq exec` with a token scoped to the job (its nodes, its walltime).
  const plane = createControlPlane(deps, { jobToken: (job) => auth.issueJobToken(job) });
  const { hub, controller } = plane;
  inbox = plane.inbox;
  const services: AppServices = { deps, auth, hub, port: plane.port, inbox: plane.inbox, controller };

  const me = userInfo();
  // A root server's jobs run as their submitters' accounts: a user the embedded agent would
  // refuse is refused at submission, with the agent's reason (same /etc/passwd, same rules).
  const localRootUser = me.uid === 0 && listensOnLoopbackOnly(config.server.host) ? me.username : null;
  if (node && me.uid === 0) {
    const policy = { ...config.jobs, agentUid: me.uid, node: node.uid };
    deps.accounts = {
      refusal: (actor) => {
        // Root for the local admin only if it still is an admin (the agent cannot know roles).
        const a = accountFor(
          { ...policy, localRootUser: actor.admin ? localRootUser : null },
          { user: actor.name },
        );
        return a && "refused" in a ? a.refused : null;
      },
    };
  }
  // The embedded agent: the same Agent as `gridq agent`, in its own process over IPC.
  const embedded = node ? startEmbeddedAgent(config, node, hub, localRootUser, log) : null;

  const tls = await loadTls(config.tls, config.home, config.server.host, new Date());
  const app = await buildApp({
    services,
    logger: log,
    version: VERSION,
    reference: { reference: reader, publicReads: config.reference.publicReads },
    https: tls,
  });
  // Time passing is a fact too: node liveness is judged on each tick, and the plan made again
  // every `scheduler.passInterval`. A few ticks per suspicion period, at most one a second;
  // unref'd so the timer never keeps a process alive on its own.
  const tickEvery = Math.min(1000, (config.agents.suspectAfter * 1000) / 4);
  const ticker = setInterval(() => void plane.inbox.post({ type: "tick" }), tickEvery);
  ticker.unref();
  let closed = false;
  return {
    app,
    services,
    node: node ?? null,
    tls,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      controller.close();
      await app.close();
      await controller.idle();
      // Another server may take the sites over at once rather than after the lease expires.
      await plane.leadership.release();
      await embedded?.stop();
      nodes.close();
      await reader.close();
      await store.close();
      lock?.release();
    },
  };
}

/**
 * Restarts of a crashed embedded agent: 0.5 s doubling to 30 s; an agent that stayed up a minute
 * had no crash loop, so the next restart is quick again.
 */
const AGENT_RESTART_MIN_MS = 500;
const AGENT_RESTART_MAX_MS = 30_000;
const AGENT_RESTART_RESET_MS = 60_000;

function startEmbeddedAgent(
  config: Readonly<GridqConfig>,
  node: NodeInfo,
  hub: AgentHub,
  localRootUser: string | null,
  log: pino.Logger,
): { stop(): Promise<void> } {
  // Node files and exit statuses must be reachable by the jobs' account, so not under the
  // private data folder; stable per data folder, so that after a crash the next agent process
  // adopts the jobs and finds their statuses there.
  const runDir = defaultRunDir(join(config.home, "agent"));
  const options = JSON.stringify({
    node: node.uid,
    stateDir: join(config.home, "agent"),
    runDir,
    killGrace: config.jobs.killGrace,
    rules: {
      allowRoot: config.jobs.allowRoot,
      accounts: config.jobs.accounts,
      minUid: config.jobs.minUid,
      denyAccounts: config.jobs.denyAccounts,
    },
    localRootUser,
    umask: config.jobs.umask,
    baseEnv: jobBaseEnv(process.env),
  } satisfies EmbeddedAgentOptions);
  let child: ChildProcess;
  let channel: ReturnType<typeof ipcChannel<AgentToServer, ServerToAgent>>;
  let stopping = false;
  let delay = AGENT_RESTART_MIN_MS;
  let restart: NodeJS.Timeout | null = null;
  const launch = () => {
    const since = Date.now();
    child = fork(fileURLToPath(new URL("../agent/embedded-main.ts", import.meta.url)), [], {
      env: { ...process.env, GRIDQ_AGENT_OPTIONS: options },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    channel = ipcChannel<AgentToServer, ServerToAgent>(child);
    hub.attach(node.site, channel);
    // A crashed agent (killed, out of memory) leaves its jobs running, recorded on disk: a new
    // agent process on the same state dir adopts them and reports their results. Its node is
    // only `suspected` meanwhile (no new work, jobs keep their state); the restart comes well
    // before agents.deadAfter would fail its jobs, but for a crash loop at the longest delay.
    child.once("exit", (code, signal) => {
      if (stopping) return;
      if (Date.now() - since >= AGENT_RESTART_RESET_MS) delay = AGENT_RESTART_MIN_MS;
      log.error(
        { node: node.uid, code, signal, restartIn: delay / 1000 },
        "embedded agent exited: restarting it",
      );
      restart = setTimeout(() => {
        restart = null;
        if (!stopping) launch();
      }, delay);
      delay = Math.min(delay * 2, AGENT_RESTART_MAX_MS);
    });
  };
  launch();
  return {
    async stop() {
      stopping = true;
      if (restart) clearTimeout(restart);
      const c = child;
      const exited = new Promise((r) =>
        c.exitCode !== null || c.signalCode !== null ? r(null) : c.once("exit", r),
      );
      channel.close();
      await exited;
      // Left in place while jobs still run (they keep running after a stop, and are adopted
      // next time); removed when empty, so /tmp does not collect one per data folder.
      removeRunDirIfEmpty(runDir);
    },
  };
}

export async function startServer(
  config: Readonly<GridqConfig>,
  out: NodeJS.WritableStream = process.stderr,
): Promise<RunningServer> {
  const a = await assemble(config);
  const { app, node } = a;
  const { deps, auth } = a.services;
  await app.listen({ host: config.server.host, port: config.server.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.server.port;
  // A wildcard listen address becomes this host's name (which the self-signed certificate covers).
  const url = serverUrl(config.server.host, port, config.tls.mode);
  a.services.hub.setPublicUrl(url);
  // Clients of a self-signed server trust exactly its certificate, kept in the credentials file.
  const ca = a.tls?.trustFile ? readFileSync(a.tls.trustFile, "utf8") : undefined;
  // `tls: files`: SIGHUP re-reads the certificate files; open connections keep theirs.
  const reload = () => reloadCertificates(app.server as unknown as SecureContextTarget, config.tls, deps.log);
  if (config.tls.mode === "files") process.on("SIGHUP", reload);

  if ((await deps.store.listUsers()).length === 0) {
    const me = userInfo();
    const password = generatePassword();
    const admin = await createUser(deps, me.username, password, "admin");
    const t = await auth.issueToken({ name: admin.name, admin: true }, config.auth.maxTokenTtl);
    writeCredentials(credentialsPath(config.home), {
      url,
      user: admin.name,
      token: t.token,
      expires_at: Math.floor(Date.now() / 1000) + t.expiresIn,
      ...(ca ? { ca } : {}),
    });
    out.write(
      `gridq: first start. Admin account '${admin.name}' created; its password (shown once): ${password}\n` +
        `gridq: credentials for the CLI written to ${credentialsPath(config.home)}\n`,
    );
  } else {
    refreshCredentialsUrl(credentialsPath(config.home), url, ca);
  }
  if (process.getuid?.() === 0 && node) {
    out.write(
      `gridq: running as root: jobs run as their submitters' Unix accounts${
        listensOnLoopbackOnly(config.server.host)
          ? `; the local admin '${userInfo().username}' runs them as root while the server listens on loopback only`
          : config.jobs.allowRoot
            ? "; users whose account is root run them as root (jobs.allowRoot)"
            : ""
      }\n`,
    );
  }
  const sites = deps.nodes.sites();
  const declared = config.site.nodes.map((n) => n.name);
  out.write(
    declared.length > 0
      ? `gridq: serving ${url} (site '${config.site.name}', ${declared.length} nodes for agents: ${declared.join(", ")})\n`
      : node
        ? `gridq: serving ${url} (site '${node.site}', node '${node.uid}', ${node.cores} cores)\n`
        : `gridq: serving ${url} (sites ${sites.join(", ") || "none"}; no embedded agent: set agent.node to a node of the reference)\n`,
  );
  return {
    url,
    close: () => {
      process.off("SIGHUP", reload);
      return a.close();
    },
  };
}

/** The server may come back on another port (port 0): keep the CLI pointed at it. */
function refreshCredentialsUrl(path: string, url: string, ca: string | undefined): void {
  if (!existsSync(path)) return;
  try {
    const c = JSON.parse(readFileSync(path, "utf8")) as Credentials;
    if (c.url !== url || c.ca !== ca) writeCredentials(path, { ...c, url, ca });
  } catch {
    // A damaged credentials file is the CLI's to report; the server does not need it.
  }
}

/** Does the server listen on a loopback address only (no other machine can reach it)? */
export function listensOnLoopbackOnly(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}
