// Creates the embedded default reference: a git repository describing this machine (site `local`).

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, hostname, networkInterfaces, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { GridqError } from "../domain/errors.ts";

export interface MachineFacts {
  hostname: string;
  /** Cores a job can use (logical CPUs unless told otherwise). */
  cores: number;
  threads?: number;
  procs?: number;
  memoryBytes: number;
  cpuModel: string;
  cpuVendor?: string;
  clockHz?: number;
  /** `x86_64`, `arm64`... */
  platform: string;
  networkAdapters?: { device: string; ip?: string; ip6?: string; mac?: string; rateBitsPerSecond?: number }[];
  gpus?: { vendor: string; model: string; memoryBytes?: number }[];
}

export interface LocalReference {
  dir: string;
  prefix: string;
  site: string;
  cluster: string;
  node: string;
  /** The commit created now, or null when the repository existed already. */
  commit: string | null;
}

const ARCH: Record<string, string> = { x64: "x86_64", arm64: "aarch64", arm: "armv7l", ppc64: "ppc64le" };

/** Facts about this machine from node:os (GPUs are not probed: pass them in when known). */
export function readMachineFacts(): MachineFacts {
  const list = cpus();
  const adapters: NonNullable<MachineFacts["networkAdapters"]> = [];
  for (const [device, addrs] of Object.entries(networkInterfaces())) {
    if (!addrs || addrs.every((a) => a.internal)) continue;
    adapters.push({
      device,
      ip: addrs.find((a) => a.family === "IPv4")?.address,
      ip6: addrs.find((a) => a.family === "IPv6")?.address,
      mac: addrs[0]?.mac,
    });
  }
  return {
    hostname: hostname(),
    cores: Math.max(1, list.length),
    threads: Math.max(1, list.length),
    procs: 1,
    memoryBytes: totalmem(),
    cpuModel: list[0]?.model.trim() || "unknown",
    clockHz: list[0]?.speed ? list[0].speed * 1e6 : undefined,
    platform: ARCH[process.arch] ?? process.arch,
    networkAdapters: adapters,
  };
}

/** A node/cluster uid from a host name: lower case, `[a-z0-9-]`, never empty. */
export function uidFromHostname(name: string): string {
  const uid = name
    .toLowerCase()
    .split(".")[0]!
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return uid || "localhost";
}

/** The JSON files of the local reference, keyed by path inside the repository. */
/** Names in the local reference; defaults: site `local`, cluster `local`, node from the host name. */
export interface LocalNames {
  site?: string;
  cluster?: string;
  /** The node uid; give the embedded agent's node name so the two always agree. */
  node?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function names(facts: MachineFacts, n: LocalNames): { site: string; cluster: string; node: string } {
  const out = {
    site: n.site ?? "local",
    cluster: n.cluster ?? "local",
    node: n.node ?? uidFromHostname(facts.hostname),
  };
  for (const [what, v] of Object.entries(out)) {
    if (!NAME.test(v) || v.endsWith(".json")) {
      throw new GridqError("GRIDQ_VALIDATION", `Invalid ${what} name '${v}' for the local reference.`);
    }
  }
  return out;
}

export function localReferenceFiles(facts: MachineFacts, n: LocalNames = {}): Record<string, unknown> {
  const { site, cluster, node } = names(facts, n);
  const p = "data/grid5000";
  const gpus = facts.gpus ?? [];
  const nodeJson: Record<string, unknown> = {
    uid: node,
    type: "node",
    nodeset: cluster,
    exotic: false,
    architecture: {
      nb_procs: facts.procs ?? 1,
      nb_cores: facts.cores,
      nb_threads: facts.threads ?? facts.cores,
      platform_type: facts.platform,
    },
    main_memory: { ram_size: facts.memoryBytes },
    processor: {
      vendor:
        facts.cpuVendor ??
        (/intel/i.test(facts.cpuModel) ? "Intel" : /amd/i.test(facts.cpuModel) ? "AMD" : "unknown"),
      model: facts.cpuModel,
      clock_speed: facts.clockHz ?? null,
      other_description: facts.cpuModel,
    },
    network_adapters: (facts.networkAdapters ?? []).map((a) => ({
      device: a.device,
      interface: "Ethernet",
      enabled: true,
      mounted: true,
      management: false,
      rate: a.rateBitsPerSecond ?? null,
      ip: a.ip ?? null,
      ip6: a.ip6 ?? null,
      mac: a.mac ?? null,
      network_address: facts.hostname,
    })),
    storage_devices: [],
    supported_job_types: {
      besteffort: true,
      deploy: false,
      max_walltime: 0,
      queues: ["admin", "default"],
      virtual: false,
    },
  };
  if (gpus.length > 0) {
    nodeJson.gpu_devices = Object.fromEntries(
      gpus.map((g, i) => [`gpu${i}`, { vendor: g.vendor, model: g.model, memory: g.memoryBytes ?? null }]),
    );
  }
  return {
    [`${p}/grid5000.json`]: { type: "grid", uid: "grid5000" },
    [`${p}/sites/${site}/${site}.json`]: {
      uid: site,
      type: "site",
      name: site === "local" ? "Local" : site,
      description: `This machine (${facts.hostname})`,
      location: "localhost",
      production: false,
      scheduler: "gridq",
    },
    [`${p}/sites/${site}/clusters/${cluster}/${cluster}.json`]: {
      uid: cluster,
      type: "cluster",
      model: facts.cpuModel,
      exotic: false,
      nodes_count: 1,
      nodes_description: `${facts.cores} cores, ${Math.round(facts.memoryBytes / 2 ** 30)}GB RAM`,
      queues: ["admin", "default"],
      priority: 0,
    },
    [`${p}/sites/${site}/clusters/${cluster}/nodes/${node}.json`]: nodeJson,
  };
}

/**
 * Creates `dir` as a git repository describing this machine in the reference schema (one site,
 * one cluster, one node; names from `n`) and commits it. Does nothing when `dir` already holds a repository.
 */
export function createLocalReference(
  dir: string,
  facts: MachineFacts = readMachineFacts(),
  n: LocalNames = {},
): LocalReference {
  const result = { dir, prefix: "data/grid5000", ...names(facts, n) };
  if (existsSync(join(dir, ".git")) || existsSync(join(dir, "HEAD"))) return { ...result, commit: null };
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], {
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "gridq",
        GIT_AUTHOR_EMAIL: "gridq@localhost",
        GIT_COMMITTER_NAME: "gridq",
        GIT_COMMITTER_EMAIL: "gridq@localhost",
      },
    }).trim();
  git("init", "--quiet", "--initial-branch=main");
  for (const [path, json] of Object.entries(localReferenceFiles(facts, n))) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), `${JSON.stringify(json, null, 2)}\n`);
  }
  git("add", "--all");
  git("commit", "--quiet", "--no-gpg-sign", "-m", `Describe ${facts.hostname}`);
  return { ...result, commit: git("rev-parse", "HEAD") };
}
