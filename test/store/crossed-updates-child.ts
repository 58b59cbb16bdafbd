// Child process for the crossed-updates test: updates jobs 1..N in one call, forwards or
// backwards, round after round; exits non-zero on any error (a deadlock among them).

import { openSpec } from "./store-spec.ts";

const [spec, order, count, rounds] = process.argv.slice(2);
const store = openSpec(spec!);
await store.migrate();
process.stdout.write("ready\n");
await new Promise((r) => process.stdin.once("data", r));
process.stdin.destroy();
const ids = Array.from({ length: Number(count) }, (_, i) => i + 1);
if (order === "backwards") ids.reverse();
for (let r = 0; r < Number(rounds); r++) {
  const res = await store.updateJobs(
    ids.map((id) => ({
      id,
      expect: { state: "waiting" as const },
      patch: { state: "waiting" as const },
      event: { at: r, type: "NOTE", description: order! },
    })),
  );
  if (res.some((x) => x === null)) throw new Error(`round ${r}: a job was not waiting`);
}
process.stdout.write("done\n");
await store.close();
