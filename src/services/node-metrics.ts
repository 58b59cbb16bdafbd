// A bounded in-memory history of the nodes' samples (sent by their agents), served in the
// kwollect shape: one point per (timestamp, node, metric).

import { GridqError } from "../domain/errors.ts";

interface Sample {
  at: number;
  values: Record<string, number>;
}

export interface MetricPoint {
  timestamp: string;
  device_id: string;
  metric_id: string;
  value: number;
  labels: Record<string, string>;
}

export interface MetricsQuery {
  nodes?: string[];
  metrics?: string[];
  /** UNIX seconds. */
  start: number;
  end: number;
}

/** The most points one answer holds: beyond, the client must narrow its query. */
export const MAX_POINTS = 100_000;

/** UNIX seconds, or an ISO 8601 date; a clear 400 otherwise. */
export function parseTime(name: string, v: string): number {
  const t = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Date.parse(v) / 1000;
  if (!Number.isFinite(t)) {
    throw new GridqError("GRIDQ_VALIDATION", `${name}: '${v}' is neither UNIX seconds nor an ISO 8601 date`, {
      field: name,
    });
  }
  return t;
}

export class NodeMetrics {
  /** Per site, per node: samples oldest first, at most `keep`. */
  readonly #history = new Map<string, Map<string, Sample[]>>();
  readonly #keep: number;

  constructor(keep: number) {
    this.#keep = keep;
  }

  record(site: string, node: string, at: number, values: Record<string, number>): void {
    let nodes = this.#history.get(site);
    if (!nodes) {
      nodes = new Map();
      this.#history.set(site, nodes);
    }
    let samples = nodes.get(node);
    if (!samples) {
      samples = [];
      nodes.set(node, samples);
    }
    samples.push({ at, values });
    // Bounded: the oldest samples go first (splice in batches, not one shift per sample).
    if (samples.length > this.#keep + 64) samples.splice(0, samples.length - this.#keep);
  }

  query(site: string, q: MetricsQuery): MetricPoint[] {
    if (q.end < q.start)
      throw new GridqError("GRIDQ_VALIDATION", "end_time is before start_time", { field: "end_time" });
    const out: MetricPoint[] = [];
    const wanted = q.metrics ? new Set(q.metrics) : null;
    for (const [node, samples] of this.#history.get(site) ?? []) {
      if (q.nodes && !q.nodes.includes(node)) continue;
      for (const s of samples) {
        if (s.at < q.start || s.at > q.end) continue;
        const timestamp = new Date(s.at * 1000).toISOString();
        for (const [metric, value] of Object.entries(s.values)) {
          if (wanted && !wanted.has(metric)) continue;
          out.push({ timestamp, device_id: node, metric_id: metric, value, labels: {} });
          if (out.length > MAX_POINTS) {
            throw new GridqError(
              "GRIDQ_VALIDATION",
              `over ${MAX_POINTS} points: narrow the query (nodes, metrics, start_time, end_time)`,
            );
          }
        }
      }
    }
    return out;
  }
}
