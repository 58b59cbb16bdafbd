// Child process for the kill test: inserts jobs into a store (any engine), printing each id once acknowledged.

import { newJob } from "./conformance.ts";
import { openSpec } from "./store-spec.ts";

const [spec, count] = process.argv.slice(2);
const store = openSpec(spec!);
await store.migrate();
for (let i = 0; i < Number(count); i++) {
  const j = await store.insertJob(newJob({ name: `kill-${i}` }), {
    at: 1_764_000_000 + i,
    description: "submitted",
  });
  // Synchronous write: the id reaches the pipe before the next insert starts.
  process.stdout.write(`${j.id}\n`);
}
await store.close();
