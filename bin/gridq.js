#!/usr/bin/env node
// The `gridq` command. Node 24 runs the TypeScript sources directly (type stripping); when an
// older Node starts this file, it hands over to the Node 24 that `npm install` provisioned.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  const node24 = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(node24)) {
    process.stderr.write(`gridq needs Node.js 24 (this is ${process.version}); run 'npm install' first\n`);
    process.exit(1);
  }
  const r = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
} else {
  const { main } = await import("../src/cli/main.ts");
  await main(process.argv);
}
