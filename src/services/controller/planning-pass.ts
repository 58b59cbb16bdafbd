// The controller's planning: passes and the fast paths. Event-driven: every submission or
// finished run pokes a pass, and pokes arriving while a pass runs coalesce into one more pass.
// Each pass runs the planner over every active job of the site and writes predictions; between
// passes a submission, or cores freed by an ended job, may start jobs at once from the last plan.

import { randomUUID } from "node:crypto";
import type { JobRecord } from "../../domain/job.ts";
import { eventName, transition } from "../../domain/job-state.ts";
import { type PlanSession, planSession } from "../../domain/planner.ts";
import type { JobStart, NodeCores, Plan, PlanInput } from "../../domain/planner-types.ts";
import type { ResourceRequest } from "../../domain/resource-request.ts";
import { walltimeGrant } from "../../domain/walltime-grant.ts";
import type { JobUpdate } from "../../store/contract.ts";
import type { ServiceDeps } from "../context.ts";
import { plannedRequest, queuesOf, runningJob, waitingJob } from "../plan-input.ts";
import { type AgentPort, headLease } from "./agent-port.ts";
import { DependencyStates } from "./dependency-states.ts";
import type { Leadership } from "./leadership.ts";
import { passJobs } from "./pass-input.ts";
import { PredictionWriter } from "./prediction-writer.ts";
import { StoredUsage } from "./stored-usage.ts";
import { WaitingView } from "./waiting-view.ts";
import { WakeTimers } from "./wake-timers.ts";

/** What planning is given: the port to start and preempt through, and which nodes can take work. */
export interface PlanningWiring {
  port: AgentPort;
  leadership: Leadership;
  /** Nodes of a site that can take work now: connected, and not silent. */
  reachable(site: string): ReadonlySet<string>;
}

export class PlanningPass {
  readonly #deps: ServiceDeps;
  readonly #port: AgentPort;
  readonly #leadership: Leadership;
  readonly #reachable: (site: string) => ReadonlySet<string>;
  readonly #dirty = new Set<string>();
  #loop: Promise<void> | null = null;
  /** Parsed requests by job id: a waiting job is parsed once, not once per pass. */
  readonly #requests = new Map<number, ResourceRequest>();
  /** The last pass's plan per site, for the submission fast path. */
  readonly #sessions = new Map<string, PlanSession>();
  readonly #predictions: PredictionWriter;
  /** Fast-path starts not yet recorded: a pass waits for them before reading the store. */
  readonly #inflight = new Set<Promise<void>>();
  #passing = false;
  /** Fast-path starts made while a pass was planning (from the previous plan). */
  #fastDuringPass: { job: JobRecord; start: JobStart }[] = [];
  /** Jobs started on freed cores since the last plan (the plan still lists them as waiting). */
  readonly #startedSincePlan = new Set<number>();
  /** The last pass's input per site (walltime grants are computed against it). */
  readonly #inputs = new Map<string, PlanInput>();
  #closed = false;
  /** Per site, a pass due when the next reservation starts. */
  readonly #wake: WakeTimers;
  readonly #dependencies: DependencyStates;
  readonly #usage: StoredUsage;
  readonly #view: WaitingView;
  /** performance.now() at the end of the last pass, and how long it took (ms). */
  #lastPassEnd = 0;
  #lastPassMs = 0;
  passes = 0;
  /** Seconds spent in scheduling passes, in total (for the server's Prometheus metrics). */
  passSeconds = 0;

  constructor(deps: ServiceDeps, wiring: PlanningWiring) {
    this.#deps = deps;
    this.#port = wiring.port;
    this.#leadership = wiring.leadership;
    this.#reachable = wiring.reachable;
    this.#dependencies = new DependencyStates(deps.store);
    this.#view = new WaitingView(deps.store);
    this.#predictions = new PredictionWriter(deps.store);
    this.#wake = new WakeTimers(deps.clock, (site) => this.poke(site, { now: true }));
    this.#usage = new StoredUsage(deps);
  }

  /** Ask for a pass over a site soon; cheap and safe to call often. Only a site's leader plans. */
  poke(site: string, o: { now?: boolean } = {}): void {
    if (this.#closed || !this.#leadership.leads(site)) return;
    this.#dirty.add(site);
    if (!this.#loop) {
      // Submissions wait one turn of the event loop so that a burst shares one pass; a caller
      // that just freed cores (`now`) starts the pass at once: an idle core is lost throughput.
      // But passes are spaced so that planning takes at most a fifth of the time: with 10k jobs
      // waiting a pass holds the event loop ~0.1 s, with 100k about a second, and passes back
      // to back would delay every submission behind them. Meanwhile submissions and freed
      // cores go through the fast path (`submitted`, `ended`), which needs no pass.
      const wait = this.#lastPassEnd + 4 * this.#lastPassMs - performance.now();
      this.#loop =
        wait > 1
          ? new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => this.#drain())
          : o.now
            ? Promise.resolve().then(() => this.#drain())
            : new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    }
  }

  /**
   * A job was just stored: start it at once when it fits in cores idle through its whole
   * walltime in the last plan (nobody is delayed), else leave it to a pass.
   */
  submitted(job: JobRecord): void {
    this.#view.add(job);
    const session = this.#sessions.get(job.site);
    // Dependencies need the states of other jobs: a pass decides. A start made while a pass
    // plans is remembered: the pass drops its own starts on the same nodes (see #pass).
    const simple = job.dependencies.length === 0;
    if (job.state !== "waiting" || !simple || !session || !this.#leadership.leads(job.site)) {
      if (job.state === "waiting") this.poke(job.site);
      return;
    }
    let start: JobStart | null = null;
    try {
      start = session.startNow(waitingJob(job, this.#request(job), queuesOf(this.#deps.config.queues)));
    } catch {
      start = null;
    }
    const connected = this.#reachable(job.site);
    if (!start?.nodes.every((n) => connected.has(n.uid))) {
      this.poke(job.site);
      return;
    }
    if (this.#passing) this.#fastDuringPass.push({ job, start });
    const p = this.#startJobs([job], [start], job.site).catch((e: unknown) => {
      this.#deps.log.error({ err: e, job: job.id }, "starting a job failed");
      this.poke(job.site);
    });
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  /**
   * The plan without its starts (and the preemptions for them) on nodes where a submission
   * started a job while this pass planned from older data: those could over-commit the node.
   * Such starts wait for the next pass, poked here. The session takes the submissions' jobs.
   */
  #withoutConflicts(
    session: PlanSession,
    site: string,
    now: number,
    queues: ReturnType<typeof queuesOf>,
  ): Plan {
    const fast = this.#fastDuringPass.filter((f) => f.job.site === site);
    this.#fastDuringPass = [];
    const { plan } = session;
    if (fast.length === 0) return plan;
    const busy = new Set(fast.flatMap((f) => f.start.nodes.map((n) => n.uid)));
    const already = new Set(fast.map((f) => f.job.id));
    const starts = plan.starts.filter((s) => !already.has(s.id) && !s.nodes.some((n) => busy.has(n.uid)));
    for (const s of plan.starts) if (!starts.includes(s) && !already.has(s.id)) session.release(s.id);
    for (const f of fast) {
      const assignedNodes = f.start.nodes.map((n) => ({ node: n.uid, cores: n.cores }));
      session.add(runningJob({ ...f.job, state: "launching", assignedNodes }, now, queues));
    }
    if (starts.length === plan.starts.length) return plan;
    const kept = new Set(starts.map((s) => s.id));
    this.poke(site);
    return { ...plan, starts, preempt: plan.preempt.filter((p) => kept.has(p.byJob)) };
  }

  /**
   * Seconds that running job `id` may run longer without delaying any job of the last plan, at
   * most `requested` (null: the job is not running on this site).
   */
  async grantable(site: string, id: number, requested: number): Promise<number | null> {
    if (!this.#leadership.leads(site)) {
      // Another server leads: this one plans the site from the store to answer, acting on nothing.
      const { input, session } = await this.#plan(site);
      return input.running.some((r) => r.id === id)
        ? walltimeGrant(input, session.plan, id, requested)
        : null;
    }
    const planned = () => this.#inputs.get(site)?.running.some((r) => r.id === id) === true;
    // Started through the fast path since the last pass: plan it first.
    if (!planned()) {
      this.poke(site, { now: true });
      await this.idle();
    }
    const input = this.#inputs.get(site);
    const session = this.#sessions.get(site);
    if (!input || !session || !planned()) return null;
    return walltimeGrant(input, session.plan, id, requested);
  }

  /** A job ended: the last plan gives its cores back at once (submissions may use them), and its usage counts for fair-share. */
  ended(job: JobRecord): void {
    const session = this.#sessions.get(job.site);
    session?.release(job.id);
    this.#usage.ended(job);
    if (session) this.#startFreed(job.site, session);
  }

  /**
   * Freed cores go at once to the next jobs of the last plan, in its priority order, that fit
   * now in cores idle through their whole walltime: nobody planned is delayed (each keeps its
   * later slot in the plan until the next pass, which is only conservative). Without this, a
   * core freed by a finished job would idle until the next spaced pass.
   */
  #startFreed(site: string, session: PlanSession): void {
    if (!this.#leadership.leads(site)) return;
    const connected = this.#reachable(site);
    const queues = queuesOf(this.#deps.config.queues);
    const startedByPlan = new Set(session.plan.starts.map((s) => s.id));
    const jobs: JobRecord[] = [];
    const starts: JobStart[] = [];
    let looked = 0;
    for (const planned of session.plan.jobs) {
      // Bounded: a freed core is worth a few lookups, not a walk of a 100,000-job queue.
      if (++looked > 64) break;
      if (
        planned.scheduledAt === null ||
        startedByPlan.has(planned.id) ||
        this.#startedSincePlan.has(planned.id)
      )
        continue;
      const job = this.#view.get(planned.id);
      if (job?.state !== "waiting" || job.dependencies.length > 0) continue;
      let start: JobStart | null = null;
      try {
        start = session.startNow(waitingJob(job, this.#request(job), queues));
      } catch {
        start = null;
      }
      if (!start) continue;
      if (!start.nodes.every((n) => connected.has(n.uid))) {
        session.release(job.id);
        continue;
      }
      this.#startedSincePlan.add(job.id);
      if (this.#passing) this.#fastDuringPass.push({ job, start });
      jobs.push(job);
      starts.push(start);
    }
    if (jobs.length === 0) return;
    const p = this.#startJobs(jobs, starts, site).catch((e: unknown) => {
      this.#deps.log.error({ err: e, site }, "starting jobs on freed cores failed");
      this.poke(site);
    });
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  /** No more timed passes (shutdown). */
  close(): void {
    this.#closed = true;
    this.#wake.close();
  }

  /** Resolves once no pass is pending (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#loop || this.#inflight.size > 0) {
      if (this.#loop) await this.#loop;
      await Promise.all(this.#inflight);
    }
  }

  /** Planned nodes of waiting jobs in the site's last pass (for the status API). */
  plannedNodes(site: string): ReadonlyMap<number, readonly NodeCores[]> {
    const out = new Map<number, readonly NodeCores[]>();
    for (const j of this.#sessions.get(site)?.plan.jobs ?? [])
      if (j.nodes && j.reason !== null) out.set(j.id, j.nodes);
    return out;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#dirty.size > 0) {
        const site = this.#dirty.values().next().value as string;
        this.#dirty.delete(site);
        try {
          const t0 = performance.now();
          await this.pass(site);
          this.#lastPassEnd = performance.now();
          this.#lastPassMs = this.#lastPassEnd - t0;
          this.passSeconds += this.#lastPassMs / 1000;
        } catch (e) {
          this.#deps.log.error({ err: e, site }, "scheduling pass failed");
        }
      }
    } finally {
      this.#loop = null;
    }
  }

  async pass(site: string): Promise<void> {
    if (!this.#leadership.leads(site)) return;
    this.#passing = true;
    try {
      // A fast-path start being written must be in the store before the pass reads it.
      while (this.#inflight.size > 0) await Promise.all(this.#inflight);
      this.#fastDuringPass = [];
      await this.#pass(site);
    } finally {
      this.#passing = false;
      this.#fastDuringPass = [];
    }
  }

  /** Plan a site from the store without acting on the plan (the pass's first half). */
  async #plan(site: string) {
    const { store, clock } = this.#deps;
    const connected = this.#reachable(site);
    const nodes = this.#deps.nodes.nodes(site).filter((n) => connected.has(n.uid));
    const holding = await store.listJobsInStates(site, ["launching", "running"], Number.MAX_SAFE_INTEGER);
    const jobs = [...holding, ...(await this.#view.list(site))];
    const now = Math.floor(clock.now());
    const byId = new Map<number, JobRecord>(jobs.map((j) => [j.id, j]));
    const queues = queuesOf(this.#deps.config.queues);
    const { running, waiting, failed } = passJobs(jobs, {
      now,
      at: clock.now(),
      queues,
      dependency: await this.#dependencies.lookup(jobs, byId),
      request: (j) => this.#request(j),
    });
    // Forget cached requests of jobs no longer waiting.
    if (this.#requests.size > waiting.length * 2 + 1000) {
      for (const id of this.#requests.keys()) if (!byId.has(id)) this.#requests.delete(id);
    }
    const fairShare = await this.#usage.fairShare(running, now);
    const input: PlanInput = { now, nodes, running, waiting, ...(fairShare ? { fairShare } : {}) };
    return { input, session: planSession(input), byId, now, waiting, failed };
  }

  async #pass(site: string): Promise<void> {
    this.passes++;
    const { clock } = this.#deps;
    const { input, session, byId, now, waiting, failed } = await this.#plan(site);
    this.#inputs.set(site, input);
    const plan = this.#withoutConflicts(session, site, now, queuesOf(this.#deps.config.queues));
    // From here on submissions start from this plan (it holds everything started so far).
    this.#sessions.set(site, session);
    this.#startedSincePlan.clear();

    // Preemptions first, in the same transaction as the starts that need their cores.
    const preempted: JobRecord[] = [];
    const updates: JobUpdate[] = [];
    for (const p of plan.preempt) {
      const job = byId.get(p.id);
      if (!job) continue;
      const t = transition(job, { type: "preempt", at: clock.now(), reason: p.message });
      updates.push({
        id: job.id,
        expect: { state: job.state, leaseId: job.leaseId },
        patch: t.patch,
        event: { at: clock.now(), type: eventName("preempt"), description: t.description },
      });
      preempted.push(job);
    }
    const toStart = plan.starts.map((s) => byId.get(s.id)).filter((j) => j !== undefined);
    await this.#startJobs(toStart, plan.starts, site, [...updates, ...failed], preempted);

    await this.#predictions.write(plan, byId, waiting.length);
    // A reservation starts at its time, not at the next periodic pass: wake up then.
    let next = Number.POSITIVE_INFINITY;
    for (const jp of plan.jobs)
      if (jp.reason === "reservation" && jp.scheduledAt !== null && jp.scheduledAt > now)
        next = Math.min(next, jp.scheduledAt);
    this.#wake.at(site, next);
  }

  /** Move jobs to `launching` on their planned nodes (with `before` in the same transaction). */
  async #startJobs(
    jobs: JobRecord[],
    starts: readonly JobStart[],
    site: string,
    before: JobUpdate[] = [],
    preempted: JobRecord[] = [],
  ): Promise<void> {
    const nodesOf = new Map(starts.map((s) => [s.id, s.nodes]));
    const at = this.#deps.clock.now();
    const updates = [...before];
    for (const job of jobs) {
      const nodes = (nodesOf.get(job.id) ?? []).map((n) => ({ node: n.uid, cores: n.cores }));
      const t = transition(
        { state: "waiting", leaseId: null, cancelRequested: false },
        { type: "schedule", at, nodes, leaseId: randomUUID() },
      );
      updates.push({
        id: job.id,
        expect: { state: "waiting" },
        patch: t.patch,
        event: { at, type: eventName("schedule"), description: t.description },
      });
    }
    if (updates.length === 0) return;
    const results = await this.#deps.store.updateJobs(updates);
    results.forEach((job, i) => {
      if (i < before.length) {
        const victim = preempted[i];
        const lease = job && victim ? headLease({ ...victim, leaseId: job.leaseId }) : null;
        if (lease) this.#port.kill(lease, job?.message ?? "preempted");
        return;
      }
      if (!job) {
        // Canceled, held or started by a submission between read and write: not started here.
        if (i >= before.length) this.#sessions.get(site)?.release(jobs[i - before.length]!.id);
        this.poke(site);
        return;
      }
      this.#requests.delete(job.id);
      this.#predictions.forget(job.id);
      this.#port.run(job);
    });
  }

  #request(j: JobRecord): ResourceRequest {
    let r = this.#requests.get(j.id);
    if (!r) {
      r = plannedRequest(j);
      this.#requests.set(j.id, r);
    }
    return r;
  }
}
