// Child process for the kill test: inserts jobs into a SQLite store, printing each id once acknowledged.

import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { newJob } from "./conformance.ts";

const [path, count] = process.argv.slice(2);
const store = new SqliteStore(path!);
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
