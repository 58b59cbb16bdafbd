// Serves the server's `read` requests: sends a file's bytes from an offset over the agent
// connection and, with `follow`, keeps sending what is appended until the job has ended.

import { constants as fsc, type Stats } from "node:fs";
import { open, readlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";
import { uncrossedFolder } from "./job-folder.ts";
import type { UnixAccount } from "./unix-account.ts";

type Read = Extract<ServerToAgent, { type: "read" }>;

const CHUNK = 64 * 1024;
/** Linux open(2) O_PATH (Node does not export it; it passes numeric flags through). */
const O_PATH = 0o10000000;
/** How often a followed file is checked for new bytes (fs.watch misses writes on some filesystems). */
const FOLLOW_POLL_MS = 200;

export class OutputSender {
  readonly #send: (m: AgentToServer) => void;
  readonly #isRunning: (jobId: number) => boolean;
  readonly #accountOf: (user: string) => UnixAccount | null | { refused: string };
  readonly #active = new Map<number, { canceled: boolean }>();

  /**
   * `accountOf(user)`: the account a job of that user runs as, when this agent runs jobs as
   * other accounts (it is root): a file is served only if that account owns it and could reach
   * it (every folder on its real path crossable by the account), so an output path pointed at
   * someone else's file (`/etc/shadow`), or through a symlinked folder at a place the account
   * cannot reach, reads nothing. Null: no check (every job runs as the agent's own account,
   * which the job could read with anyway).
   */
  constructor(
    send: (m: AgentToServer) => void,
    isRunning: (jobId: number) => boolean,
    accountOf: (user: string) => UnixAccount | null | { refused: string },
  ) {
    this.#send = send;
    this.#isRunning = isRunning;
    this.#accountOf = accountOf;
  }

  cancel(stream: number): void {
    const a = this.#active.get(stream);
    if (a) a.canceled = true;
  }

  /** Cancel every read (the connection they answer is gone). */
  cancelAll(): void {
    for (const a of this.#active.values()) a.canceled = true;
  }

  /** Why the file checked as `fd` (opened O_PATH) is not served to `m.user`, or null. */
  async #refusal(m: Read, fd: number, st: Stats): Promise<string | null> {
    if (!st.isFile()) return `${m.path} is not a regular file`;
    const account = this.#accountOf(m.user);
    if (account === null) return null;
    if ("refused" in account || st.uid !== account.uid || !(await reachable(fd, account))) {
      return `${m.path} does not belong to the account of ${m.user}'s jobs`;
    }
    return null;
  }

  async serve(m: Read): Promise<void> {
    const state = { canceled: false };
    this.#active.set(m.stream, state);
    let fh: Awaited<ReturnType<typeof open>> | null = null;
    try {
      let where: Awaited<ReturnType<typeof open>>;
      try {
        // O_PATH names the file without opening it: a device's driver, a FIFO's writer never see
        // it, so a job's path to /dev/watchdog or a FIFO cannot make this (root) process open them.
        where = await open(m.path, O_PATH | fsc.O_NOFOLLOW);
      } catch {
        this.#send({ type: "end", stream: m.stream, missing: true });
        return;
      }
      try {
        const refused = await this.#refusal(m, where.fd, await where.stat());
        if (refused) {
          this.#send({ type: "end", stream: m.stream, refused });
          return;
        }
        // Only a regular file the job's account could reach is opened for reading: through the
        // O_PATH descriptor, so it is the very file checked, whatever the path now names.
        fh = await open(`/proc/self/fd/${where.fd}`, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
      } finally {
        await where.close();
      }
      let pos = m.offset;
      const buf = Buffer.alloc(CHUNK);
      for (;;) {
        if (state.canceled) return;
        // Sample "running" before reading: bytes written before the job ended are then read below.
        const running = m.follow && this.#isRunning(m.jobId);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          this.#send({
            type: "data",
            stream: m.stream,
            chunk: buf.subarray(0, bytesRead).toString("base64"),
          });
          continue;
        }
        if (!running) break;
        await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      }
      this.#send({ type: "end", stream: m.stream });
    } catch (e) {
      this.#send({ type: "end", stream: m.stream, error: (e as Error).message });
    } finally {
      this.#active.delete(m.stream);
      await fh?.close();
    }
  }
}

/** Could `account` have opened the file open as `fd`: can it cross every folder above it? */
async function reachable(fd: number, account: UnixAccount): Promise<boolean> {
  let real: string;
  try {
    // Where the opened file really is (every symlink resolved), not the path that was asked.
    real = await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return false;
  }
  if (!real.startsWith("/")) return false;
  return uncrossedFolder(dirname(real), account) === null;
}
