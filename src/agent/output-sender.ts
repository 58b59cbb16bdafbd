// Serves the server's `read` requests: sends a file's bytes from an offset over the agent
// connection and, with `follow`, keeps sending what is appended until the job has ended.

import { constants as fsc } from "node:fs";
import { open } from "node:fs/promises";
import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";

type Read = Extract<ServerToAgent, { type: "read" }>;

const CHUNK = 64 * 1024;
/** How often a followed file is checked for new bytes (fs.watch misses writes on some filesystems). */
const FOLLOW_POLL_MS = 200;

export class OutputSender {
  readonly #send: (m: AgentToServer) => void;
  readonly #isRunning: (jobId: number) => boolean;
  readonly #ownerOf: (user: string) => number | null | { refused: string };
  readonly #active = new Map<number, { canceled: boolean }>();

  /**
   * `ownerOf(user)`: the uid a job of that user runs as, when this agent runs jobs as other
   * accounts (it is root): a file is served only if that account owns it, so an output path
   * pointed at someone else's file (`/etc/shadow`) reads nothing. Null: no check (every job
   * runs as the agent's own account, which the job could read with anyway).
   */
  constructor(
    send: (m: AgentToServer) => void,
    isRunning: (jobId: number) => boolean,
    ownerOf: (user: string) => number | null | { refused: string },
  ) {
    this.#send = send;
    this.#isRunning = isRunning;
    this.#ownerOf = ownerOf;
  }

  cancel(stream: number): void {
    const a = this.#active.get(stream);
    if (a) a.canceled = true;
  }

  /** Cancel every read (the connection they answer is gone). */
  cancelAll(): void {
    for (const a of this.#active.values()) a.canceled = true;
  }

  async serve(m: Read): Promise<void> {
    const state = { canceled: false };
    this.#active.set(m.stream, state);
    let fh: Awaited<ReturnType<typeof open>> | null = null;
    try {
      try {
        fh = await open(m.path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
      } catch {
        this.#send({ type: "end", stream: m.stream, missing: true });
        return;
      }
      const owner = this.#ownerOf(m.user);
      const st = await fh.stat();
      const refused = !st.isFile()
        ? `${m.path} is not a regular file`
        : owner !== null && (typeof owner !== "number" || st.uid !== owner)
          ? `${m.path} does not belong to the account of ${m.user}'s jobs`
          : null;
      if (refused) {
        this.#send({ type: "end", stream: m.stream, refused });
        return;
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
