// Runs `gridq exec` commands on this node for a job (what oarsh gives OAR users): as the job's
// account, in its own process group, output sent back as it comes; killed when the caller goes
// away or the job ends.

import type { AgentToServer, Lease, ServerToAgent } from "../protocol/agent-messages.ts";
import { killOwnGroup, procStartOf } from "./proc.ts";
import { RESTORE_ENV, spawnAsAccount } from "./spawn-as-account.ts";
import type { UnixAccount } from "./unix-account.ts";

type Exec = Extract<ServerToAgent, { type: "exec" }>;

/**
 * $1 command, $2 directory, $3 umask; the command runs with no positional parameters, after
 * the submitter's variables are put back (hidden from setpriv, which starts as root).
 */
const EXEC_WRAPPER = `${RESTORE_ENV}
umask "$3"
cd -- "$2" 2>/dev/null || { echo "gridq exec: cannot enter $2 as $(id -un)" >&2; exit 126; }
__gridq_cmd=$1
set --
eval "$__gridq_cmd"`;

export class ExecRunner {
  readonly #send: (m: AgentToServer) => void;
  readonly #accountFor: (l: Pick<Lease, "user">) => UnixAccount | null | { refused: string };
  readonly #baseEnv: Record<string, string>;
  readonly #umask: string;
  /** Running execs: stream id → {jobId, pid, its start time}. */
  readonly #running = new Map<number, { jobId: number; pid: number; procStart: string | null }>();

  constructor(
    send: (m: AgentToServer) => void,
    accountFor: (l: Pick<Lease, "user">) => UnixAccount | null | { refused: string },
    baseEnv: Record<string, string>,
    umask: string,
  ) {
    this.#send = send;
    this.#accountFor = accountFor;
    this.#baseEnv = baseEnv;
    this.#umask = umask;
  }

  run(m: Exec): void {
    const account = this.#accountFor({ user: m.user });
    if (account && "refused" in account) {
      this.#send({ type: "end", stream: m.stream, refused: account.refused });
      return;
    }
    // As the job's account with its supplementary groups, like the job itself; its own group,
    // so a cancel kills everything it started. The wrapper enters the directory as the account.
    const child = spawnAsAccount({
      account,
      script: EXEC_WRAPPER,
      args: ["gridq-exec", m.command, m.directory, this.#umask],
      baseEnv: this.#baseEnv,
      userEnv: {},
      // The server's variables for the exec (GRIDQ_JOB_ID, GRIDQ_NODE...).
      fixedEnv: m.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.once("error", (e) => {
      this.#running.delete(m.stream);
      this.#send({ type: "end", stream: m.stream, error: `cannot run the command: ${e.message}` });
    });
    if (child.pid === undefined) return;
    this.#running.set(m.stream, { jobId: m.jobId, pid: child.pid, procStart: procStartOf(child.pid) });
    child.stdout!.on("data", (d: Buffer) =>
      this.#send({ type: "data", stream: m.stream, fd: 1, chunk: d.toString("base64") }),
    );
    child.stderr!.on("data", (d: Buffer) =>
      this.#send({ type: "data", stream: m.stream, fd: 2, chunk: d.toString("base64") }),
    );
    // 'close' (not 'exit'): every byte of both pipes has been read and sent before the end.
    child.once("close", (code, signal) => {
      this.#running.delete(m.stream);
      const exitCode = code ?? 128 + (signal ? 15 : 0);
      this.#send({ type: "end", stream: m.stream, exitCode });
    });
  }

  cancel(stream: number): void {
    const r = this.#running.get(stream);
    if (r) killOwnGroup(r, "SIGKILL");
  }

  killJob(jobId: number): void {
    for (const r of this.#running.values()) if (r.jobId === jobId) killOwnGroup(r, "SIGKILL");
  }

  cancelAll(): void {
    for (const r of this.#running.values()) killOwnGroup(r, "SIGKILL");
  }
}
