// One long-lived `git cat-file` process per repository: pipelined object reads, no process per request.

import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { GridqError } from "../domain/errors.ts";

export interface GitObject {
  /** Full object id (40 hex digits). */
  id: string;
  type: "commit" | "tree" | "blob" | "tag";
  data: Buffer;
}

interface Pending {
  resolve: (o: GitObject | null) => void;
  reject: (e: Error) => void;
}

const NL = 0x0a;

let batchCommand: boolean | undefined;

/** `cat-file --batch-command` with `flush` exists since git 2.36; older gits get `--batch`. */
function supportsBatchCommand(): boolean {
  if (batchCommand === undefined) {
    const m = /(\d+)\.(\d+)/.exec(execFileSync("git", ["--version"], { encoding: "utf8" }));
    batchCommand = !!m && (Number(m[1]) > 2 || (Number(m[1]) === 2 && Number(m[2]) >= 36));
  }
  return batchCommand;
}

/**
 * Reads objects through `git cat-file --batch`. Requests are written in order and answers come back
 * in the same order, so many reads can be in flight at once (pipelining) over one process.
 * A revision expression is never passed through unchecked: callers give object ids or full ref names.
 */
export class GitCatFile {
  readonly gitDir: string;
  #proc: ChildProcessWithoutNullStreams | null = null;
  #queue: Pending[] = [];
  #head = 0;
  #buf: Buffer = Buffer.alloc(0);
  #outgoing: string[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #buffered: boolean;

  /** `batchCommand: false` forces plain `--batch` (what gits older than 2.36 get). */
  constructor(gitDir: string, options: { batchCommand?: boolean } = {}) {
    this.gitDir = gitDir;
    this.#buffered = options.batchCommand ?? supportsBatchCommand();
  }

  /** Reads one object by id or full ref name; null when git says it is missing or ambiguous. */
  read(name: string): Promise<GitObject | null> {
    if (this.#closed)
      return Promise.reject(new GridqError("GRIDQ_UNAVAILABLE", "The repository reader is closed."));
    if (name.length === 0 || /[\s\0]/.test(name)) return Promise.resolve(null);
    this.#ensureProcess();
    return new Promise<GitObject | null>((resolve, reject) => {
      this.#queue.push({ resolve, reject });
      this.#outgoing.push(this.#buffered ? `contents ${name}\n` : `${name}\n`);
      // Why: batching every request of one tick into a single write keeps pipelined reads cheap.
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  /** Stops the git process; pending reads fail. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const proc = this.#proc;
    this.#proc = null;
    if (!proc) {
      this.#failAll(new GridqError("GRIDQ_UNAVAILABLE", "The repository reader was closed."));
      return;
    }
    const exited = new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once("exit", () => resolve());
    });
    proc.stdin.end();
    // Why: git exits on stdin EOF; the timer only guards against a stuck process.
    const timer = setTimeout(() => proc.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
    this.#failAll(new GridqError("GRIDQ_UNAVAILABLE", "The repository reader was closed."));
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (!this.#proc || this.#outgoing.length === 0) return;
    // Why: with --buffer git writes answers only on `flush`: one write per batch, not per object.
    if (this.#buffered) this.#outgoing.push("flush\n");
    const text = this.#outgoing.join("");
    this.#outgoing = [];
    this.#proc.stdin.write(text);
  }

  #ensureProcess(): void {
    if (this.#proc) return;
    const mode = this.#buffered ? ["--batch-command", "--buffer"] : ["--batch"];
    const proc = spawn("git", ["--git-dir", this.gitDir, "cat-file", ...mode], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
    });
    this.#proc = proc;
    this.#buf = Buffer.alloc(0);
    // Why: events of a process that was replaced must not touch the current one's queue.
    proc.stdout.on("data", (chunk: Buffer) => {
      if (this.#proc === proc) this.#onData(chunk);
    });
    proc.stderr.on("data", () => {});
    proc.stdin.on("error", () => {});
    proc.on("error", (e) => this.#onExit(proc, e));
    proc.on("exit", () => this.#onExit(proc, null));
  }

  #onExit(proc: ChildProcessWithoutNullStreams, e: Error | null): void {
    if (this.#proc !== proc) return;
    this.#proc = null;
    // Why: a crashed git must not leave callers hanging; the next read starts a fresh process.
    this.#failAll(
      new GridqError("GRIDQ_UNAVAILABLE", `The repository reader stopped${e ? `: ${e.message}` : ""}.`),
    );
  }

  /** The running git process id, if any (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  #failAll(err: Error): void {
    const pending = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    this.#outgoing = [];
    for (const p of pending) p.reject(err);
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    const buf = this.#buf;
    while (this.#head < this.#queue.length) {
      const eol = buf.indexOf(NL, pos);
      if (eol < 0) break;
      const header = buf.toString("latin1", pos, eol);
      const sp1 = header.indexOf(" ");
      const sp2 = header.indexOf(" ", sp1 + 1);
      if (sp2 < 0) {
        // "<name> missing" or "<name> ambiguous"
        pos = eol + 1;
        this.#next().resolve(null);
        continue;
      }
      const size = Number(header.slice(sp2 + 1));
      const end = eol + 1 + size;
      if (buf.length < end + 1) break;
      const data = buf.subarray(eol + 1, end);
      pos = end + 1;
      const type = header.slice(sp1 + 1, sp2) as GitObject["type"];
      this.#next().resolve({ id: header.slice(0, sp1), type, data });
    }
    this.#buf = pos === 0 ? buf : buf.subarray(pos);
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #next(): Pending {
    const p = this.#queue[this.#head]!;
    this.#queue[this.#head] = undefined as unknown as Pending;
    this.#head++;
    return p;
  }
}
