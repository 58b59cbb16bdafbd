// Samples this node's load, CPU, memory and job count for the server's metrics history.

import { cpus, freemem, loadavg, totalmem } from "node:os";

export const NODE_METRICS = [
  "node_load1",
  "node_cpu_busy_percent",
  "node_memory_used_bytes",
  "node_memory_total_bytes",
  "gridq_jobs_running",
] as const;

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

export class NodeSampler {
  #last = cpuTimes();
  readonly #jobs: () => number;

  constructor(runningJobs: () => number) {
    this.#jobs = runningJobs;
  }

  /** One sample; CPU busy is measured since the previous sample. */
  sample(): Record<string, number> {
    const now = cpuTimes();
    const total = now.total - this.#last.total;
    const busy = total > 0 ? (100 * (now.busy - this.#last.busy)) / total : 0;
    this.#last = now;
    const mem = totalmem();
    return {
      node_load1: loadavg()[0] ?? 0,
      node_cpu_busy_percent: Math.round(busy * 10) / 10,
      node_memory_used_bytes: mem - freemem(),
      node_memory_total_bytes: mem,
      gridq_jobs_running: this.#jobs(),
    };
  }
}
