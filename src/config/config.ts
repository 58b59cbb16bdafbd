// One configuration schema with defaults and env names, resolved once into a frozen object.

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { QueueDef } from "../domain/queues.ts";
import { AUTH_DEFAULTS, type AuthSettings, authSettings } from "./auth-config.ts";
import { bool, ConfigError, num, optStr, str } from "./config-values.ts";
import { JOB_ACCOUNT_DEFAULTS, type JobAccountSettings, jobAccountSettings } from "./job-accounts-config.ts";
import { queuesSetting } from "./queues-config.ts";
import { CONNECTION_DEFAULTS, type ConnectionSettings, connectionSettings } from "./server-config.ts";

export { ConfigError } from "./config-values.ts";

export interface GridqConfig {
  /** The data folder: database, keys, credentials, job outputs. */
  home: string;
  server: {
    host: string;
    port: number;
    /** Largest request body in bytes. */
    bodyLimit: number;
    /** Longest URL (path + query string) in bytes. */
    maxUrlLength: number;
    logLevel: string;
  } & ConnectionSettings;
  /**
   * The embedded default's site; `cores` 0 means "detect this machine's". `nodes`, when not
   * empty, declares the site's nodes (each run by a `gridq agent`) and no embedded agent starts.
   */
  site: { name: string; cluster: string; cores: number; nodes: { name: string; cores: number }[] };
  agents: {
    /** Seconds between an agent's heartbeats (the server tells its agents in `welcome`). */
    heartbeatInterval: number;
    /** Seconds of silence after which a node is `suspected` and gets no new work. */
    suspectAfter: number;
    /** Seconds of silence after which a node is `dead` and its jobs end in error. */
    deadAfter: number;
    /** Seconds between an agent's node samples (load, CPU, memory, jobs); 0: none. */
    metricsInterval: number;
    /** Samples kept per node (memory bound of the metrics history). */
    metricsHistory: number;
  };
  /**
   * The platform description: a git repository (`path`, empty: one created in the data folder
   * describing this machine) and the folder inside it (`prefix`).
   */
  reference: { path: string | null; prefix: string; branch: string | null; publicReads: boolean };
  /** The embedded agent: the reference node it serves (default: this host's short name). */
  agent: { node: string | null };
  /**
   * The store: the SQLite file `path` (the embedded default, one server), or the PostgreSQL
   * database at `url` (several servers may share it), whose pool holds at most `poolSize`
   * connections per server.
   */
  db: { engine: "sqlite" | "postgres"; path: string; url: string | null; poolSize: number };
  auth: AuthSettings;
  jobs: {
    /** Seconds; used when neither `walltime` nor the resources give one. */
    defaultWalltime: number;
    /** Seconds between SIGTERM and SIGKILL when a job is stopped or over its walltime. */
    killGrace: number;
    /** Directory for jobs submitted without one (not from the CLI). */
    defaultDirectory: string;
    /**
     * A root agent runs each job as its submitter's Unix account (docs/agents.md); a user whose
     * account is root runs jobs as root only with this on (or as the local first-start admin of
     * a server that listens on loopback only). Off by default.
     */
    allowRoot: boolean;
  } & JobAccountSettings;
  /** Queues by name, with priority and limits (`admin`, `default`, `besteffort`, `production` by default). */
  queues: QueueDef[];
  scheduler: {
    /**
     * Seconds between planning passes made only because time passes (predictions move, a
     * reservation's time comes); 0: none. Every job event triggers a pass anyway.
     */
    passInterval: number;
    /**
     * Fair-share: seconds of age a user's jobs lose at 100% of the recent usage (86400: the
     * heaviest user's jobs rank as if submitted a day later); 0: off (queue priority, then age).
     */
    fairShareWeight: number;
    /** Seconds after which past usage counts half. */
    fairShareHalfLife: number;
  };
  /** HTTPS: `off`, `self-signed` (made at first start, kept in `home/tls`), or CA-signed `files`. */
  tls: {
    mode: "off" | "self-signed" | "files";
    /** `files`: PEM certificate, key and intermediates; re-read on SIGHUP. */
    cert: string | null;
    key: string | null;
    chain: string | null;
    /** `self-signed`: names (DNS or IP) to cover besides the listen address and localhost. */
    names: string[];
  };
}

/** Where each setting can come from: [path in the YAML file, environment variable]. */
export const ENV_NAMES = {
  home: "GRIDQ_HOME",
  "server.host": "GRIDQ_HOST",
  "server.port": "GRIDQ_PORT",
  "server.logLevel": "GRIDQ_LOG_LEVEL",
  "db.path": "GRIDQ_DB",
  "db.url": "GRIDQ_DB_URL",
  "reference.path": "GRIDQ_REFERENCE",
  "auth.tokenTtl": "GRIDQ_TOKEN_TTL",
  "jobs.allowRoot": "GRIDQ_ALLOW_ROOT_JOBS",
  "agents.heartbeatInterval": "GRIDQ_HEARTBEAT_INTERVAL",
  "agents.suspectAfter": "GRIDQ_SUSPECT_AFTER",
  "agents.deadAfter": "GRIDQ_DEAD_AFTER",
  "tls.mode": "GRIDQ_TLS",
  "tls.cert": "GRIDQ_TLS_CERT",
  "tls.key": "GRIDQ_TLS_KEY",
  "tls.chain": "GRIDQ_TLS_CHAIN",
} as const;

export function defaultHome(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(xdg, "gridq");
}

type Plain = Record<string, unknown>;

function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object"
        ? deepMerge(b as Plain, v as Plain)
        : v;
  }
  return out;
}

function setPath(obj: Plain, path: string, value: unknown): void {
  const keys = path.split(".");
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    cur[k] = { ...((cur[k] as Plain | undefined) ?? {}) };
    cur = cur[k] as Plain;
  }
  cur[keys.at(-1)!] = value;
}

export interface ResolveOptions {
  env: NodeJS.ProcessEnv;
  /** A YAML file; default `$GRIDQ_HOME/config.yaml` when it exists. */
  file?: string;
  /** Highest precedence, e.g. from command-line flags: `{"server.port": 9000}`. */
  overrides?: Record<string, unknown>;
}

/** Defaults < YAML file < environment < overrides. */
export function resolveConfig(opts: ResolveOptions): Readonly<GridqConfig> {
  const { env } = opts;
  const overrides = opts.overrides ?? {};
  const home = resolve(String(overrides.home ?? env.GRIDQ_HOME ?? defaultHome(env)));
  let raw: Plain = {
    home,
    server: {
      host: "127.0.0.1",
      port: 8080,
      bodyLimit: 1024 * 1024,
      maxUrlLength: 8192,
      logLevel: "info",
      ...CONNECTION_DEFAULTS,
    },
    site: { name: "local", cluster: "local", cores: 0, nodes: [] },
    agents: {
      heartbeatInterval: 5,
      suspectAfter: 15,
      deadAfter: 60,
      metricsInterval: 5,
      metricsHistory: 720,
    },
    reference: { path: "", prefix: "data/grid5000", branch: "", publicReads: true },
    agent: { node: "" },
    db: { engine: "", path: join(home, "gridq.db"), url: "", poolSize: 10 },
    auth: structuredClone(AUTH_DEFAULTS),
    jobs: {
      defaultWalltime: 3600,
      killGrace: 5,
      defaultDirectory: join(home, "jobs"),
      allowRoot: false,
      ...JOB_ACCOUNT_DEFAULTS,
    },
    scheduler: { passInterval: 30, fairShareWeight: 0, fairShareHalfLife: 86400 },
    tls: { mode: "off", cert: null, key: null, chain: null, names: [] },
  };
  const file = opts.file ?? join(home, "config.yaml");
  if (opts.file && !existsSync(opts.file)) throw new ConfigError(`config file ${opts.file} does not exist`);
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, "utf8"));
    } catch (e) {
      throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new ConfigError(`config file ${file}: expected a mapping at the top`);
      }
      raw = deepMerge(raw, parsed as Plain);
    }
  }
  // `tls: self-signed` is short for `tls: {mode: self-signed}`.
  if (typeof raw.tls === "string") raw = { ...raw, tls: { mode: raw.tls } };
  for (const [path, name] of Object.entries(ENV_NAMES)) {
    if (env[name] !== undefined && path !== "home") setPath(raw, path, env[name]);
  }
  for (const [path, v] of Object.entries(overrides)) if (path !== "home") setPath(raw, path, v);

  const g = (p: string): unknown =>
    p.split(".").reduce<unknown>((o, k) => (o as Plain | undefined)?.[k], raw);
  const config: GridqConfig = {
    home,
    server: {
      host: str("server.host", g("server.host")),
      port: num("server.port", g("server.port"), 0, 65535, true),
      bodyLimit: num("server.bodyLimit", g("server.bodyLimit"), 1024, 1024 * 1024 * 1024),
      maxUrlLength: num("server.maxUrlLength", g("server.maxUrlLength"), 256, 1024 * 1024),
      logLevel: str("server.logLevel", g("server.logLevel")),
      ...connectionSettings(g),
    },
    site: {
      name: str("site.name", g("site.name")),
      cluster: str("site.cluster", g("site.cluster")),
      cores: num("site.cores", g("site.cores"), 0, 65536),
      nodes: siteNodes(g("site.nodes")),
    },
    agents: agentTimes(g),
    reference: {
      path: ((p) => p && resolve(p))(optStr("reference.path", g("reference.path"))),
      prefix: str("reference.prefix", g("reference.prefix")),
      branch: optStr("reference.branch", g("reference.branch")),
      publicReads: bool("reference.publicReads", g("reference.publicReads")),
    },
    agent: { node: optStr("agent.node", g("agent.node")) },
    db: dbSettings(home, g),
    auth: authSettings(g),
    jobs: {
      defaultWalltime: num("jobs.defaultWalltime", g("jobs.defaultWalltime"), 1, 365 * 86400),
      killGrace: num("jobs.killGrace", g("jobs.killGrace"), 0, 3600),
      defaultDirectory: resolve(home, str("jobs.defaultDirectory", g("jobs.defaultDirectory"))),
      allowRoot: bool("jobs.allowRoot", g("jobs.allowRoot")),
      ...jobAccountSettings(g, (m) => new ConfigError(m)),
    },
    queues: queuesSetting(g("queues"), (m) => new ConfigError(m)),
    scheduler: {
      passInterval: num("scheduler.passInterval", g("scheduler.passInterval"), 0, 86400),
      fairShareWeight: num("scheduler.fairShareWeight", g("scheduler.fairShareWeight"), 0, 365 * 86400),
      fairShareHalfLife: num(
        "scheduler.fairShareHalfLife",
        g("scheduler.fairShareHalfLife"),
        60,
        365 * 86400,
      ),
    },
    tls: tlsSettings(home, g),
  };
  return deepFreeze(config);
}

function dbSettings(home: string, g: (p: string) => unknown): GridqConfig["db"] {
  const url = optStr("db.url", g("db.url"));
  if (url !== null && !/^postgres(ql)?:\/\/./.test(url)) {
    // Never echo the value: it may hold a password.
    throw new ConfigError("config db.url: expected a postgres:// or postgresql:// URL");
  }
  // The URL chooses the engine; `db.engine`, when given, must agree with it.
  const engine = url ? "postgres" : "sqlite";
  const named = optStr("db.engine", g("db.engine"));
  if (named !== null && named !== engine) {
    throw new ConfigError(
      named === "postgres"
        ? "config db.engine: 'postgres' needs db.url (or GRIDQ_DB_URL), e.g. postgres://user:password@host/gridq"
        : named === "sqlite"
          ? "config db.engine: 'sqlite' contradicts db.url, which selects PostgreSQL"
          : `config db.engine: '${named}' is not supported (sqlite, postgres)`,
    );
  }
  return {
    engine,
    path: resolve(home, str("db.path", g("db.path"))),
    url,
    poolSize: num("db.poolSize", g("db.poolSize"), 1, 1000, true),
  };
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function siteNodes(v: unknown): { name: string; cores: number }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError("config site.nodes: expected a list of {name, cores}");
  const seen = new Set<string>();
  return v.map((n, i) => {
    const o = (n ?? {}) as Plain;
    const name = str(`site.nodes[${i}].name`, o.name);
    if (!NODE_NAME.test(name))
      throw new ConfigError(`config site.nodes[${i}].name: '${name}' is not a node name`);
    if (seen.has(name)) throw new ConfigError(`config site.nodes: node '${name}' is listed twice`);
    seen.add(name);
    return { name, cores: num(`site.nodes[${i}].cores`, o.cores, 1, 65536, true) };
  });
}

function agentTimes(g: (p: string) => unknown): GridqConfig["agents"] {
  const heartbeatInterval = num("agents.heartbeatInterval", g("agents.heartbeatInterval"), 0.05, 3600);
  const suspectAfter = num("agents.suspectAfter", g("agents.suspectAfter"), 0.1, 86400);
  const deadAfter = num("agents.deadAfter", g("agents.deadAfter"), 0.1, 7 * 86400);
  // A node must be able to miss a heartbeat before suspicion, and be suspected before death.
  if (suspectAfter <= heartbeatInterval)
    throw new ConfigError("config agents.suspectAfter must be longer than agents.heartbeatInterval");
  if (deadAfter <= suspectAfter)
    throw new ConfigError("config agents.deadAfter must be longer than agents.suspectAfter");
  return {
    heartbeatInterval,
    suspectAfter,
    deadAfter,
    metricsInterval: num("agents.metricsInterval", g("agents.metricsInterval"), 0, 3600),
    metricsHistory: num("agents.metricsHistory", g("agents.metricsHistory"), 1, 1_000_000, true),
  };
}

const TLS_MODES = ["off", "self-signed", "files"] as const;

function tlsSettings(home: string, g: (p: string) => unknown): GridqConfig["tls"] {
  const mode = str("tls.mode", g("tls.mode"));
  if (!(TLS_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(`config tls.mode: '${mode}' is not one of ${TLS_MODES.join(", ")}`);
  }
  const path = (p: string) => {
    const v = g(p);
    return v === null || v === undefined || v === "" ? null : resolve(home, str(p, v));
  };
  const tls = {
    mode: mode as GridqConfig["tls"]["mode"],
    cert: path("tls.cert"),
    key: path("tls.key"),
    chain: path("tls.chain"),
  };
  if (tls.mode === "files" && (!tls.cert || !tls.key)) {
    throw new ConfigError("config tls: mode 'files' needs tls.cert and tls.key (PEM files)");
  }
  const names = g("tls.names") ?? [];
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new ConfigError("config tls.names: expected a list of host names or addresses");
  }
  return { ...tls, names };
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === "object") for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}
