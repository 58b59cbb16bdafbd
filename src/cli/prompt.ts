// Reads a secret: from the terminal without echo, or the first line of standard input.

import { createInterface } from "node:readline";
import { Writable } from "node:stream";

export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let data = "";
    for await (const chunk of process.stdin) data += chunk;
    return data.split(/\r?\n/)[0] ?? "";
  }
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  process.stderr.write(prompt);
  muted = true;
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    muted = false;
    process.stderr.write("\n");
    rl.close();
  }
}
