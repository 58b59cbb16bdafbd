// Reads job output files on this node (the embedded agent's side of OutputReader).

import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { OutputReader } from "../protocol/agent-messages.ts";

export const localOutputReader: OutputReader = {
  async openOutput(path: string, offset: number): Promise<Readable | null> {
    try {
      // Open first so a missing file is a clean null, not a stream error mid-response.
      const fh = await open(path, "r");
      // The stream owns the handle and closes it: a handle left to the garbage collector
      // would close its descriptor a second time and crash the process.
      return fh.createReadStream({ start: offset, autoClose: true });
    } catch {
      return null;
    }
  },
};
