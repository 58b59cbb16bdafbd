// Reads of files on a node through its agent connection: each read is a numbered stream of
// `data` messages ending with `end`, exposed to the HTTP layer as a Node Readable.

import { Readable } from "node:stream";
import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";
import type { ExecRequest, ReadRequest } from "./controller/agent-port.ts";

type Incoming = Extract<AgentToServer, { type: "data" | "end" }>;

interface Pending {
  readable: Readable;
  /** An exec's stream carries NDJSON events ({fd, data} then {exit} or {error}), not raw bytes. */
  exec: boolean;
  /** Resolves on the first message: the stream, or null when the file does not exist. */
  opened: ((r: Readable | null | { refused: string }) => void) | null;
}

export class AgentReads {
  readonly #send: (m: ServerToAgent) => void;
  readonly #pending = new Map<number, Pending>();
  #next = 1;

  constructor(send: (m: ServerToAgent) => void) {
    this.#send = send;
  }

  open(r: ReadRequest): Promise<Readable | null | { refused: string }> {
    const stream = this.#next++;
    return new Promise((resolve) => {
      const readable = this.#readable(stream);
      this.#pending.set(stream, { readable, opened: resolve, exec: false });
      this.#send({ type: "read", stream, ...r });
    });
  }

  /** Run a command on the node for a job; a stream of NDJSON events, one per line. */
  exec(r: ExecRequest): Readable {
    const stream = this.#next++;
    const readable = this.#readable(stream);
    this.#pending.set(stream, { readable, opened: null, exec: true });
    this.#send({ type: "exec", stream, ...r });
    return readable;
  }

  #readable(stream: number): Readable {
    return new Readable({
      read() {
        // Push-driven by the agent's messages; nothing to pull.
      },
      destroy: (err, cb) => {
        // The HTTP client went away before the end: tell the agent to stop.
        if (this.#pending.delete(stream)) this.#send({ type: "read-cancel", stream });
        cb(err);
      },
    });
  }

  deliver(m: Incoming): void {
    const p = this.#pending.get(m.stream);
    if (!p) return; // canceled meanwhile
    if (p.exec) {
      this.#deliverExec(m.stream, p, m);
      return;
    }
    if (m.type === "end" && (m.missing || m.refused)) {
      this.#pending.delete(m.stream);
      p.opened?.(m.refused ? { refused: m.refused } : null);
      p.readable.destroy();
      return;
    }
    if (p.opened) {
      p.opened(p.readable);
      p.opened = null;
    }
    if (m.type === "data") {
      p.readable.push(Buffer.from(m.chunk, "base64"));
      return;
    }
    this.#pending.delete(m.stream);
    if (m.error) p.readable.destroy(new Error(m.error));
    else p.readable.push(null);
  }

  #deliverExec(stream: number, p: Pending, m: Incoming): void {
    const line = (o: object) => p.readable.push(`${JSON.stringify(o)}\n`);
    if (m.type === "data") {
      line({ fd: m.fd ?? 1, data: m.chunk });
      return;
    }
    this.#pending.delete(stream);
    if (m.exitCode !== undefined) line({ exit: m.exitCode });
    else line({ error: m.refused ?? m.error ?? "the command ended without a status" });
    p.readable.push(null);
  }

  /** The connection is gone: every read in flight ends here (a follower sees the end). */
  closeAll(): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      if (p.opened) p.opened(null);
      else {
        if (p.exec) p.readable.push(`${JSON.stringify({ error: "the node's agent disconnected" })}\n`);
        p.readable.push(null);
      }
    }
  }
}
