// The whole test command: lint, type-check, layer rules, then every test file with node:test.
// `npm test` runs this; `.ci/run` runs `npm install && npm test`.

import { spawnSync } from "node:child_process";

const steps: [string, string[]][] = [
  ["lint (biome)", ["npx", "biome", "check", "."]],
  ["type-check (tsc)", ["npx", "tsc", "--noEmit"]],
  ["layers (dependency-cruiser)", ["npx", "depcruise", "--config", ".dependency-cruiser.cjs", "src"]],
  [
    "tests (node:test)",
    [
      process.execPath,
      "--test",
      "--test-concurrency=2",
      "--test-timeout=120000",
      ...(process.argv.slice(2).length ? process.argv.slice(2) : ["test/**/*.test.ts"]),
    ],
  ],
];

const only = process.env.GRIDQ_TEST_ONLY; // e.g. "tests" to skip lint while iterating
for (const [name, cmd] of steps) {
  if (only && !name.startsWith(only)) continue;
  console.log(`\n== ${name}: ${cmd.join(" ")}`);
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`\n== ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}
