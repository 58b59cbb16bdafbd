// The server's own metrics for Prometheus at /metrics (text format 0.0.4): jobs by state,
// submissions, scheduling pass time, nodes by liveness, request latency by route.

import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { JOB_STATES } from "../../domain/job-state.ts";
import { NODE_STATES } from "../../services/controller/node-liveness.ts";
import type { AppServices } from "../app-services.ts";

/** Latency buckets in seconds (upper bounds). */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const esc = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

export const prometheusPlugin = fp(async (app: FastifyInstance, opts: { services: AppServices }) => {
  const { services } = opts;
  // Keyed by method and route template (never the raw URL: bounded label values).
  const latency = new Map<string, Histogram>();
  let submissions = 0;

  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    if (route === "/metrics") return;
    const key = `${req.method} ${route} ${reply.statusCode}`;
    let h = latency.get(key);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      latency.set(key, h);
    }
    const s = reply.elapsedTime / 1000;
    BUCKETS.forEach((b, i) => {
      if (s <= b) h.counts[i]!++;
    });
    h.sum += s;
    h.count++;
    if (req.method === "POST" && route.endsWith("/sites/:site/jobs") && reply.statusCode === 201)
      submissions++;
  });

  app.get("/metrics", { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    const { store } = services.deps;
    const out: string[] = [];
    out.push("# HELP gridq_jobs Jobs by state.", "# TYPE gridq_jobs gauge");
    for (const state of JOB_STATES) {
      const { total } = await store.listJobs({ states: [state], offset: 0, limit: 1 });
      out.push(`gridq_jobs{state="${state}"} ${total}`);
    }
    out.push(
      "# HELP gridq_submissions_total Jobs accepted since the server started.",
      "# TYPE gridq_submissions_total counter",
      `gridq_submissions_total ${submissions}`,
      "# HELP gridq_scheduling_passes_total Scheduling passes run.",
      "# TYPE gridq_scheduling_passes_total counter",
      `gridq_scheduling_passes_total ${services.controller.passes}`,
      "# HELP gridq_scheduling_pass_seconds_total Time spent in scheduling passes.",
      "# TYPE gridq_scheduling_pass_seconds_total counter",
      `gridq_scheduling_pass_seconds_total ${services.controller.passSeconds}`,
      "# HELP gridq_nodes Nodes by liveness of their agents.",
      "# TYPE gridq_nodes gauge",
    );
    const byState = new Map<string, number>(NODE_STATES.map((s) => [s, 0]));
    for (const site of services.deps.nodes.sites()) {
      for (const n of services.controller.nodeStatus(site))
        byState.set(n.state, (byState.get(n.state) ?? 0) + 1);
    }
    for (const [state, n] of byState) out.push(`gridq_nodes{state="${state}"} ${n}`);
    out.push(
      "# HELP gridq_http_request_duration_seconds HTTP request latency by method, route and status.",
      "# TYPE gridq_http_request_duration_seconds histogram",
    );
    for (const [key, h] of latency) {
      const [method, route, status] = key.split(" ");
      const l = `method="${esc(method!)}",route="${esc(route!)}",status="${status}"`;
      for (const [i, b] of BUCKETS.entries()) {
        out.push(`gridq_http_request_duration_seconds_bucket{${l},le="${b}"} ${h.counts[i]}`);
      }
      out.push(`gridq_http_request_duration_seconds_bucket{${l},le="+Inf"} ${h.count}`);
      out.push(`gridq_http_request_duration_seconds_sum{${l}} ${h.sum}`);
      out.push(`gridq_http_request_duration_seconds_count{${l}} ${h.count}`);
    }
    return reply.type("text/plain; version=0.0.4; charset=utf-8").send(`${out.join("\n")}\n`);
  });
});
