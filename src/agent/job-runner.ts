// Runs leases as real processes that outlive the agent: each job is `/bin/sh -c COMMAND` under a
// tiny wrapper shell, in its own session, output to files, walltime enforced (SIGTERM, then
// SIGKILL after a grace period). The wrapper writes the exit status to the state dir, so a job
// whose agent restarted is still followed (pid polled) and its result reported, exactly once.

import type { ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { constants as osc } from "node:os";
import type { JobReport, KnownLease, Lease } from "../protocol/agent-messages.ts";
import { prepareUserFolder } from "./job-folder.ts";
import { alive, signalName, WRAPPER } from "./job-process.ts";
import { findUnrecordedStarts, LEASE_MARKER } from "./job-recovery.ts";
import { isSafeLeaseId, JobStateDir, type StartedRecord } from "./job-state-dir.ts";
import { killOwnGroup, procStartOf } from "./proc.ts";
import { spawnAsAccount } from "./spawn-as-account.ts";
import type { UnixAccount } from "./unix-account.ts";

export type Report = JobReport;

export interface RunnerOptions {
  /** Folder for this agent's private state (leases, results); survives agent restarts. */
  stateDir: string;
  /** Folder job accounts can reach: node files and exit statuses. Stable across restarts. */
  runDir: string;
  /** Seconds between SIGTERM and SIGKILL. */
  killGrace: number;
  /** The account a lease runs as (null: the agent's own), or a reason it cannot run. */
  accountFor: (lease: Pick<Lease, "user">) => UnixAccount | null | { refused: string };
  /** Environment every job starts from (PATH, LANG...), before the job's own. */
  baseEnv: Record<string, string>;
  /** Every job's umask, octal (`077`). */
  umask: string;
  /** The server URL jobs use (a remote agent's --server); else the lease's. */
  serverUrl?: string;
  /** Milliseconds between liveness checks of jobs this agent did not spawn itself. */
  pollInterval?: number;
  report: (r: Report) => void;
  /**
   * Test only (GRIDQ_TEST_AGENT_CRASH_AFTER_SPAWN, read by agent/main.ts): called between a job's
   * spawn and the record of its start, where the test kills the agent to try recovery.
   */
  afterSpawn?: () => void;
}

interface Running {
  lease: Lease;
  pid: number | null;
  /** The pid's start time when it was the job's (procStartOf): tells a reused pid apart. */
  procStart: string | null;
  /** Set when this agent process spawned the job (it then gets the exit event). */
  child: ChildProcess | null;
  walltimeTimer: NodeJS.Timeout | null;
  /** Unix seconds the process started (its walltime counts from there); null before. */
  startedAt: number | null;
  killTimer: NodeJS.Timeout | null;
  pollTimer: NodeJS.Timeout | null;
  walltimeExceeded: boolean;
  killRequested: boolean;
  sentKill: boolean;
  /** The final report, kept (and re-sent on reconnection) until the server acknowledges it. */
  result: Report | null;
}

const now = () => Date.now() / 1000;

export class JobRunner {
  readonly #o: RunnerOptions;
  readonly #disk: JobStateDir;
  readonly #jobs = new Map<string, Running>();

  constructor(o: RunnerOptions) {
    this.#o = o;
    this.#disk = new JobStateDir(o.stateDir, o.runDir);
  }

  /** Take back the jobs of a previous agent process from disk: follow the live, report the rest. */
  recover(): void {
    const stored = this.#disk.load();
    // Leases recorded but never marked started: the agent may have died between the spawn and
    // `started.json`; their wrappers are looked for by the lease id in their environment.
    const found = findUnrecordedStarts(this.#disk, stored, this.#o.accountFor);
    for (const s of stored) {
      const r = this.#entry(s.lease);
      const started = s.started ?? found.get(s.lease.leaseId);
      if (s.result) r.result = s.result;
      else if (started) this.#adopt(r, started);
      // It ran and ended while no agent watched: its wrapper left the outcome.
      else if (this.#disk.hasOutcome(s.lease.leaseId)) this.#exited(r, null, null, true);
      else {
        // The agent died between recording the lease and spawning: nothing ran, nothing will.
        this.#finish(r, {
          type: "failed",
          leaseId: r.lease.leaseId,
          jobId: r.lease.jobId,
          reason: "the agent stopped while launching the job",
          at: now(),
        });
      }
    }
  }

  /** Follow a process this agent did not spawn: walltime, and its end by polling. */
  #adopt(r: Running, started: StartedRecord): void {
    r.pid = started.pid;
    r.procStart = started.procStart;
    // Said again: the previous agent may have died before its `started` reached the server (a
    // job left `launching`); a repeated one is a stale report the server ignores.
    this.#o.report({
      type: "started",
      leaseId: r.lease.leaseId,
      jobId: r.lease.jobId,
      pid: started.pid,
      at: started.at,
    });
    this.#armWalltime(r, started.at);
    const poll = () => {
      if (alive(started)) {
        r.pollTimer = setTimeout(poll, this.#o.pollInterval ?? 500);
        return;
      }
      r.pollTimer = null;
      this.#exited(r, this.#disk.readStatus(r.lease.leaseId), null, true);
    };
    poll();
  }

  /** Leases this agent knows: running ones and finished ones awaiting acknowledgement. */
  known(): KnownLease[] {
    return [...this.#jobs.values()].map((r) => ({
      leaseId: r.lease.leaseId,
      jobId: r.lease.jobId,
      done: r.result !== null,
    }));
  }

  /** Final reports the server has not acknowledged yet (re-sent on each connection). */
  unacknowledged(): Report[] {
    return [...this.#jobs.values()].flatMap((r) => (r.result ? [r.result] : []));
  }

  /** Is a process of this job still running here (for following its output)? */
  isRunning(jobId: number): boolean {
    for (const r of this.#jobs.values()) if (r.lease.jobId === jobId && r.result === null) return true;
    return false;
  }

  run(lease: Lease): void {
    // A lease is run at most once: known in memory, on disk, or already acknowledged.
    if (!isSafeLeaseId(lease.leaseId) || this.#jobs.has(lease.leaseId) || this.#disk.wasAcked(lease.leaseId))
      return;
    const r = this.#entry(lease);
    try {
      const account = this.#o.accountFor(lease);
      if (account && "refused" in account) throw new Error(account.refused);
      this.#disk.saveLease(lease, account);
      this.#spawn(r, account);
    } catch (e) {
      this.#finish(r, {
        type: "failed",
        leaseId: lease.leaseId,
        jobId: lease.jobId,
        reason: (e as Error).message,
        at: now(),
      });
    }
  }

  #entry(lease: Lease): Running {
    const r: Running = {
      lease,
      pid: null,
      procStart: null,
      child: null,
      walltimeTimer: null,
      startedAt: null,
      killTimer: null,
      pollTimer: null,
      walltimeExceeded: false,
      killRequested: false,
      sentKill: false,
      result: null,
    };
    this.#jobs.set(lease.leaseId, r);
    return r;
  }

  #nodefile(lease: Lease): string {
    return this.#disk.nodefilePath(lease.jobId);
  }

  #spawn(r: Running, account: UnixAccount | null): void {
    const { lease } = r;
    const o = this.#o;
    // The directory is entered by the wrapper as the job's account, never by the agent: only
    // the user's own folder in the server's jobs folder is made for it here, when missing.
    if (lease.createDirectory) prepareUserFolder(lease.directory, account);
    const nodefile = this.#nodefile(lease);
    writeFileSync(nodefile, `${lease.nodes.flatMap((n) => Array(n.cores).fill(n.node)).join("\n")}\n`, {
      mode: 0o644,
    });
    const ids = {
      GRIDQ_JOB_ID: String(lease.jobId),
      // Marks the wrapper: a restarted agent finds a job it spawned but could not record.
      [LEASE_MARKER]: lease.leaseId,
      GRIDQ_JOB_NAME: lease.jobName ?? "",
      GRIDQ_NODEFILE: nodefile,
      GRIDQ_WORKDIR: lease.directory,
      OAR_JOB_ID: String(lease.jobId),
      OAR_JOBID: String(lease.jobId),
      OAR_JOB_NAME: lease.jobName ?? "",
      OAR_NODEFILE: nodefile,
      OAR_NODE_FILE: nodefile,
      OAR_WORKDIR: lease.directory,
      // For the job's own calls to the server (`gridq exec`, `gridq list`...).
      ...(lease.jobToken ? { GRIDQ_TOKEN: lease.jobToken } : {}),
      ...(o.serverUrl || lease.serverUrl ? { GRIDQ_URL: (o.serverUrl ?? lease.serverUrl)! } : {}),
      ...(lease.site ? { GRIDQ_SITE: lease.site } : {}),
    };
    let child: ChildProcess;
    try {
      const paths = [
        this.#disk.statusPath(lease.leaseId),
        lease.directory,
        lease.stdoutPath,
        lease.stderrPath,
      ];
      child = spawnAsAccount({
        account,
        script: WRAPPER,
        args: ["gridq-job", lease.command, ...paths, o.umask],
        baseEnv: o.baseEnv,
        userEnv: lease.env,
        // The job's identity variables win over the submitter's.
        fixedEnv: ids,
        // The job is its own process group (stop and walltime kill it whole); it outlives us.
        stdio: "ignore",
      });
    } catch (e) {
      throw new Error(`cannot start the job: ${(e as Error).message}`);
    }
    r.child = child;
    if (child.pid !== undefined) {
      r.pid = child.pid;
      o.afterSpawn?.();
      const started = { pid: child.pid, procStart: procStartOf(child.pid), at: now() };
      r.procStart = started.procStart;
      // Recorded before anything else can happen to the job: from here a restarted agent adopts
      // it. A failed write does not fail a job that runs: it is followed from memory, and a
      // restarted agent would find it by its GRIDQ_LEASE_ID.
      try {
        this.#disk.saveStarted(lease.leaseId, started);
      } catch {
        // see above
      }
      o.report({
        type: "started",
        leaseId: lease.leaseId,
        jobId: lease.jobId,
        pid: child.pid,
        at: started.at,
      });
      this.#armWalltime(r, started.at);
      if (r.killRequested) this.#terminate(r);
    }
    child.once("error", (e) => {
      if (child.pid !== undefined) return; // errors after spawn end in 'exit'
      this.#finish(r, {
        type: "failed",
        leaseId: lease.leaseId,
        jobId: lease.jobId,
        reason: e.message,
        at: now(),
      });
    });
    child.once("exit", (code, signal) => {
      // The wrapper exits with the command's status; its own death by a signal means SIGKILL.
      this.#exited(r, code, signal, false);
    });
  }

  /** The server granted more walltime to a lease: its timer is armed again for the new end. */
  setWalltime(leaseId: string, walltime: number): void {
    const r = this.#jobs.get(leaseId);
    if (!r || r.result || !Number.isInteger(walltime) || walltime <= 0) return;
    r.lease = { ...r.lease, walltime };
    if (r.walltimeTimer && r.startedAt !== null) {
      clearTimeout(r.walltimeTimer);
      this.#armWalltime(r, r.startedAt);
    }
  }

  #armWalltime(r: Running, startedAt: number): void {
    r.startedAt = startedAt;
    const deadline = (startedAt + r.lease.walltime) * 1000;
    // setTimeout holds at most 2^31-1 ms (24.8 days): re-arm until the real deadline.
    const arm = () => {
      const left = deadline - Date.now();
      r.walltimeTimer = setTimeout(
        () => {
          if (Date.now() < deadline) return arm();
          r.walltimeExceeded = true;
          this.#terminate(r);
        },
        Math.min(Math.max(left, 0), 2 ** 31 - 1),
      );
      r.walltimeTimer.unref();
    };
    arm();
  }

  /** The job's process is gone: build its result from the wrapper's status or the wait status. */
  #exited(r: Running, code: number | null, signal: NodeJS.Signals | null, adopted: boolean): void {
    // Whatever the leader left behind in its group goes with it, as OAR and Slurm do.
    if (r.pid !== null) killOwnGroup({ pid: r.pid, procStart: r.procStart }, "SIGKILL");
    rmSync(this.#nodefile(r.lease), { force: true });
    const why = this.#disk.readFailure(r.lease.leaseId);
    if (why) {
      this.#finish(r, {
        type: "failed",
        leaseId: r.lease.leaseId,
        jobId: r.lease.jobId,
        reason: why,
        at: now(),
      });
      return;
    }
    const status = this.#disk.readStatus(r.lease.leaseId) ?? code;
    let exitCode: number | null = status;
    let sig: string | null = signal;
    if (status !== null && status > 128 && !signal) sig = signalName(status - 128);
    if (status === null && signal) exitCode = 128 + (osc.signals[signal] ?? 0);
    if (status === null && !signal && adopted && (r.sentKill || r.killRequested || r.walltimeExceeded)) {
      // It vanished without a status after we signaled it: our signal ended it.
      const ours = r.sentKill ? "SIGKILL" : "SIGTERM";
      sig = ours;
      exitCode = 128 + osc.signals[ours];
    }
    this.#finish(r, {
      type: "finished",
      leaseId: r.lease.leaseId,
      jobId: r.lease.jobId,
      exitCode,
      signal: sig,
      walltimeExceeded: r.walltimeExceeded,
      at: now(),
      ...(exitCode === null
        ? { note: "the job ended while no agent watched it; its exit status is unknown" }
        : {}),
    });
  }

  #finish(r: Running, report: Report): void {
    if (r.result) return;
    for (const t of [r.walltimeTimer, r.killTimer, r.pollTimer]) if (t) clearTimeout(t);
    r.result = report;
    // On disk before it is sent: a result is never lost to an agent restart.
    try {
      if (!this.#disk.has(r.lease.leaseId)) this.#disk.saveLease(r.lease, null);
      this.#disk.saveResult(r.lease.leaseId, report);
    } catch {
      // A full or broken disk: the result is still reported from memory while this agent lives.
    }
    this.#o.report(report);
  }

  /** The server recorded this lease's result: forget it for good. */
  ack(leaseId: string): void {
    const r = this.#jobs.get(leaseId);
    if (r && !r.result) return; // an ack never ends a running job
    this.#jobs.delete(leaseId);
    if (isSafeLeaseId(leaseId)) this.#disk.forget(leaseId);
  }

  /** Stop a lease's process group: SIGTERM now, SIGKILL after the grace period. */
  kill(leaseId: string): void {
    const r = this.#jobs.get(leaseId);
    if (!r || r.result) return;
    r.killRequested = true;
    if (r.pid !== null) this.#terminate(r);
  }

  #terminate(r: Running): void {
    const pid = r.pid;
    if (pid === null || r.killTimer || r.result) return;
    const job = { pid, procStart: r.procStart };
    killOwnGroup(job, "SIGTERM");
    r.killTimer = setTimeout(() => {
      r.sentKill = true;
      killOwnGroup(job, "SIGKILL");
    }, this.#o.killGrace * 1000);
  }

  /** Stop following jobs (agent shutdown): they keep running and are adopted on next start. */
  detach(): void {
    for (const r of this.#jobs.values()) {
      for (const t of [r.walltimeTimer, r.killTimer, r.pollTimer]) if (t) clearTimeout(t);
      r.child?.removeAllListeners("exit");
      r.child?.unref();
    }
  }
}
