// Child process for the concurrent-migration test: migrates a fresh database when told to go.

import { openSpec } from "./store-spec.ts";

const [spec] = process.argv.slice(2);
const store = openSpec(spec!);
process.stdout.write("ready\n");
await new Promise((r) => process.stdin.once("data", r));
process.stdin.destroy();
await store.migrate();
process.stdout.write(`${await store.getMeta("schema_version")}\n`);
await store.close();
