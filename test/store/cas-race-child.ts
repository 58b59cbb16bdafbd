// Child process for the race test (any engine): tries to schedule jobs 1..N under its own lease, printing who won.

import { openSpec } from "./store-spec.ts";

const [spec, lease, count, also] = process.argv.slice(2);
const store = openSpec(spec!);
await store.migrate();
// Start together: say ready, then wait for the parent's go on stdin.
process.stdout.write("ready\n");
await new Promise((r) => process.stdin.once("data", r));
process.stdin.destroy();
for (let id = 1; id <= Number(count); id++) {
  const [r] = await store.updateJobs([
    {
      id,
      expect: { state: "waiting", leaseId: null },
      patch: { state: "launching", leaseId: lease!, scheduledAt: id },
      event: { at: id, type: "SCHEDULE", description: `by ${lease}` },
    },
  ]);
  process.stdout.write(`${id} ${r ? "won" : "lost"}\n`);
  // Writers of other kinds at the same time: inserts and events.
  if (also) await store.appendEvent(id, { at: id, type: "NOTE", description: lease! });
}
await store.close();
