// Pure mapping from a reference node description (Grid'5000 node JSON) to the scheduler's NodeInfo.

import { GridqError } from "./errors.ts";
import type { NodeInfo, PropertyValue } from "./node.ts";

type Json = Record<string, unknown>;

const MIB = 1024 * 1024;

function obj(v: unknown): Json | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** GPU devices: an object keyed by device name (current data), else the old `gpu` summary. */
function gpuList(node: Json): Json[] {
  const devices = node.gpu_devices;
  if (Array.isArray(devices)) return devices.map(obj).filter((d): d is Json => d !== undefined);
  const o = obj(devices);
  if (o)
    return Object.values(o)
      .map(obj)
      .filter((d): d is Json => d !== undefined);
  return [];
}

function gpuCount(node: Json, devices: Json[]): number {
  if (devices.length > 0) return devices.length;
  const old = obj(node.gpu);
  return old && old.gpu === true ? (num(old.gpu_count) ?? 1) : 0;
}

/** Highest rate (bit/s) of an enabled, mounted Ethernet adapter, or undefined. */
function ethernetRate(node: Json): number | undefined {
  const adapters = node.network_adapters;
  const list = Array.isArray(adapters) ? adapters : Object.values(obj(adapters) ?? {});
  let best: number | undefined;
  for (const a of list.map(obj)) {
    if (!a || a.enabled === false || a.management === true) continue;
    if (str(a.interface) !== undefined && a.interface !== "Ethernet") continue;
    const rate = num(a.rate);
    if (rate !== undefined && (best === undefined || rate > best)) best = rate;
  }
  return best;
}

/**
 * Maps one node JSON to NodeInfo. `cluster` comes from the folder the file sits in. Cores are
 * `architecture.nb_cores` (older data: `smt_size`), memory `main_memory.ram_size` in bytes.
 * Throws GRIDQ_VALIDATION when the node has no uid, no core count or no memory size.
 */
export function nodeInfoFromReference(json: unknown, where: { site: string; cluster: string }): NodeInfo {
  const node = obj(json);
  if (!node) throw new GridqError("GRIDQ_VALIDATION", "A reference node must be a JSON object.");
  const uid = str(node.uid);
  if (!uid) throw new GridqError("GRIDQ_VALIDATION", `A node of cluster ${where.cluster} has no uid.`);
  const arch = obj(node.architecture) ?? {};
  const cores = num(arch.nb_cores) ?? num(arch.smt_size);
  if (cores === undefined || cores < 1) {
    throw new GridqError("GRIDQ_VALIDATION", `Node ${uid} has no architecture.nb_cores.`);
  }
  const memoryBytes = num(obj(node.main_memory)?.ram_size);
  if (memoryBytes === undefined) {
    throw new GridqError("GRIDQ_VALIDATION", `Node ${uid} has no main_memory.ram_size.`);
  }
  const devices = gpuList(node);
  const gpus = gpuCount(node, devices);
  const proc = obj(node.processor) ?? {};
  const jobTypes = obj(node.supported_job_types) ?? {};
  const procs = num(arch.nb_procs) ?? num(arch.smp_size);
  const threads = num(arch.nb_threads);
  const memnode = Math.floor(memoryBytes / MIB);
  const clock = num(proc.clock_speed);
  const eth = ethernetRate(node);
  const cputype = [str(proc.model), str(proc.version)].filter(Boolean).join(" ");
  const gpuModel = str(devices[0]?.model) ?? str(obj(node.gpu)?.gpu_model) ?? null;
  const properties: Record<string, PropertyValue> = {
    host: uid,
    cluster: where.cluster,
    site: where.site,
    nodeset: str(node.nodeset) ?? where.cluster,
    core_count: cores,
    cpu_count: procs ?? null,
    thread_count: threads ?? null,
    cpucore: procs ? Math.floor(cores / procs) : null,
    cpuarch: str(arch.platform_type) ?? null,
    cputype: cputype || null,
    cpufreq: clock !== undefined ? Math.round(clock / 1e7) / 100 : null,
    microarchitecture: str(proc.microarchitecture) ?? null,
    memnode,
    memcore: Math.floor(memnode / cores),
    gpu_count: gpus,
    gpu_model: gpuModel,
    exotic: node.exotic === true,
    besteffort: jobTypes.besteffort !== false,
    deploy: jobTypes.deploy === true,
    virtual: str(jobTypes.virtual) ?? null,
    max_walltime: num(jobTypes.max_walltime) ?? 0,
    eth_rate: eth !== undefined ? eth / 1e9 : null,
    disk_count: Array.isArray(node.storage_devices) ? node.storage_devices.length : null,
  };
  return { uid, site: where.site, cluster: where.cluster, cores, memoryBytes, gpus, properties };
}
