// Reads of files on a node through its agent connection: each read is a numbered stream of
// `data` messages ending with `end`, exposed to the HTTP layer as a Node Readable.

import { Readable } from "node:stream";
import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";

type Incoming = Extract<AgentToServer, { type: "data" | "end" }>;

interface Pending {
  readable: Readable;
  /** Resolves on the first message: the stream, or null when the file does not exist. */
  opened: ((r: Readable | null | { refused: string }) => void) | null;
}

export interface ReadRequest {
  path: string;
  offset: number;
  follow: boolean;
  jobId: number;
  user: string;
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
      const readable = new Readable({
        read() {
          // Push-driven by the agent's messages; nothing to pull.
        },
        destroy: (err, cb) => {
          // The HTTP client went away before the end: tell the agent to stop sending.
          if (this.#pending.delete(stream)) this.#send({ type: "read-cancel", stream });
          cb(err);
        },
      });
      this.#pending.set(stream, { readable, opened: resolve });
      this.#send({ type: "read", stream, ...r });
    });
  }

  deliver(m: Incoming): void {
    const p = this.#pending.get(m.stream);
    if (!p) return; // canceled meanwhile
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

  /** The connection is gone: every read in flight ends here (a follower sees the end). */
  closeAll(): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      if (p.opened) p.opened(null);
      else p.readable.push(null);
    }
  }
}
