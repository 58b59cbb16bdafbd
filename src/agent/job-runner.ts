// Runs one lease as a real process: `/bin/sh -c COMMAND` in its own process group, output to
// files, walltime enforced (SIGTERM, then SIGKILL after a grace period), exit reported once.

import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  fchownSync,
  constants as fsc,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { constants as osc } from "node:os";
import { join } from "node:path";
import type { AgentToServer, Lease } from "../protocol/agent-messages.ts";
import type { UnixAccount } from "./unix-account.ts";

export type Report = Exclude<AgentToServer, { type: "hello" }>;

export interface RunnerOptions {
  /** Folder for per-job state of this agent (private to it). */
  stateDir: string;
  /** Folder for node files: readable by the accounts jobs run as. */
  nodefileDir: string;
  /** Seconds between SIGTERM and SIGKILL. */
  killGrace: number;
  /** Run jobs as this account (when the agent is root); null: as the agent itself. */
  runAs: UnixAccount | null;
  /** Environment every job starts from (PATH, LANG...), before the job's own. */
  baseEnv: Record<string, string>;
  report: (r: Report) => void;
}

interface Running {
  lease: Lease;
  child: ChildProcess | null;
  walltimeTimer: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  walltimeExceeded: boolean;
  killRequested: boolean;
}

const now = () => Date.now() / 1000;

/** Signal a whole process group; a group already gone is not an error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has no process left.
  }
}

export class JobRunner {
  readonly #o: RunnerOptions;
  readonly #jobs = new Map<string, Running>();

  constructor(o: RunnerOptions) {
    this.#o = o;
    mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(o.nodefileDir, { recursive: true });
    chmodSync(o.nodefileDir, 0o755);
  }

  running(): { leaseId: string; jobId: number }[] {
    return [...this.#jobs.values()].map((r) => ({ leaseId: r.lease.leaseId, jobId: r.lease.jobId }));
  }

  run(lease: Lease): void {
    if (this.#jobs.has(lease.leaseId)) return; // a lease is run at most once
    const r: Running = {
      lease,
      child: null,
      walltimeTimer: null,
      killTimer: null,
      walltimeExceeded: false,
      killRequested: false,
    };
    this.#jobs.set(lease.leaseId, r);
    try {
      this.#spawn(r);
    } catch (e) {
      this.#jobs.delete(lease.leaseId);
      this.#o.report({
        type: "failed",
        leaseId: lease.leaseId,
        jobId: lease.jobId,
        reason: (e as Error).message,
        at: now(),
      });
    }
  }

  #spawn(r: Running): void {
    const { lease } = r;
    const o = this.#o;
    if (!existsSync(lease.directory) || !statSync(lease.directory).isDirectory()) {
      throw new Error(`directory ${lease.directory} does not exist`);
    }
    const nodefile = join(o.nodefileDir, String(lease.jobId));
    writeFileSync(nodefile, `${lease.nodes.flatMap((n) => Array(n.cores).fill(n.node)).join("\n")}\n`, {
      mode: 0o644,
    });
    const open = (path: string) => {
      try {
        const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND, 0o644);
        if (o.runAs) fchownSync(fd, o.runAs.uid, o.runAs.gid);
        return fd;
      } catch (e) {
        throw new Error(
          `cannot open output file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
    };
    const out = open(lease.stdoutPath);
    let err: number;
    try {
      err = lease.stderrPath === lease.stdoutPath ? out : open(lease.stderrPath);
    } catch (e) {
      closeSync(out);
      throw e;
    }
    const ids = {
      GRIDQ_JOB_ID: String(lease.jobId),
      GRIDQ_JOB_NAME: lease.jobName ?? "",
      GRIDQ_NODEFILE: nodefile,
      GRIDQ_WORKDIR: lease.directory,
      OAR_JOB_ID: String(lease.jobId),
      OAR_JOBID: String(lease.jobId),
      OAR_JOB_NAME: lease.jobName ?? "",
      OAR_NODEFILE: nodefile,
      OAR_NODE_FILE: nodefile,
      OAR_WORKDIR: lease.directory,
    };
    const who = o.runAs ? { HOME: o.runAs.home, USER: o.runAs.name, LOGNAME: o.runAs.name } : {};
    let child: ChildProcess;
    try {
      child = spawn("/bin/sh", ["-c", lease.command], {
        cwd: lease.directory,
        // A new session, so the job is its own process group: stop and walltime kill it whole,
        // and it outlives this agent process if the agent dies.
        detached: true,
        stdio: ["ignore", out, err],
        env: { ...o.baseEnv, ...who, ...lease.env, ...ids },
        ...(o.runAs ? { uid: o.runAs.uid, gid: o.runAs.gid } : {}),
      });
    } finally {
      closeSync(out);
      if (err !== out) closeSync(err);
    }
    r.child = child;
    child.once("spawn", () => {
      o.report({ type: "started", leaseId: lease.leaseId, jobId: lease.jobId, pid: child.pid!, at: now() });
      const deadline = Date.now() + lease.walltime * 1000;
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
      };
      arm();
      if (r.killRequested) this.#terminate(r);
    });
    child.once("error", (e) => {
      if (child.pid !== undefined) return; // errors after spawn end in 'exit'
      this.#forget(r);
      o.report({ type: "failed", leaseId: lease.leaseId, jobId: lease.jobId, reason: e.message, at: now() });
    });
    child.once("exit", (code, signal) => {
      // Whatever the leader left behind in its group goes with it, as OAR and Slurm do.
      if (child.pid) killGroup(child.pid, "SIGKILL");
      this.#forget(r);
      rmSync(nodefile, { force: true });
      const exitCode = code ?? (signal ? 128 + (osc.signals[signal] ?? 0) : null);
      o.report({
        type: "finished",
        leaseId: lease.leaseId,
        jobId: lease.jobId,
        exitCode,
        signal: signal ?? null,
        walltimeExceeded: r.walltimeExceeded,
        at: now(),
      });
    });
  }

  /** Stop a lease's process group: SIGTERM now, SIGKILL after the grace period. */
  kill(leaseId: string): void {
    const r = this.#jobs.get(leaseId);
    if (!r) return;
    r.killRequested = true;
    if (r.child?.pid !== undefined) this.#terminate(r);
  }

  #terminate(r: Running): void {
    const pid = r.child?.pid;
    if (pid === undefined || r.killTimer) return;
    killGroup(pid, "SIGTERM");
    r.killTimer = setTimeout(() => killGroup(pid, "SIGKILL"), this.#o.killGrace * 1000);
  }

  #forget(r: Running): void {
    if (r.walltimeTimer) clearTimeout(r.walltimeTimer);
    if (r.killTimer) clearTimeout(r.killTimer);
    this.#jobs.delete(r.lease.leaseId);
  }

  /** Kill every job (agent shutdown with `--kill-jobs`). */
  killAll(): void {
    for (const r of this.#jobs.values()) if (r.child?.pid) killGroup(r.child.pid, "SIGKILL");
  }
}
