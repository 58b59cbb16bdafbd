// The whole test command: lint, type-check, layer rules, then every test file with node:test.
// `npm test` runs this; `.ci/run` runs `npm install && npm test`. The tests share one real
// PostgreSQL server, started here on a free loopback port and stopped by its PID at the end.

import { type ChildProcess, spawn } from "node:child_process";
import { type PostgresServer, startPostgres } from "../test/helpers/postgres-server.ts";

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

let postgres: PostgresServer | null = null;
let step: ChildProcess | null = null;
async function stopPostgres(): Promise<void> {
  const p = postgres;
  postgres = null;
  if (p) await p.stop();
}
// Interrupted (Ctrl-C, CI's time limit): the running step gets the signal, the server is
// stopped, and we exit as killed by that signal.
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
for (const [sig, n] of Object.entries(SIGNALS)) {
  process.on(sig, () => {
    step?.kill(sig as NodeJS.Signals);
    void stopPostgres().finally(() => process.exit(128 + n));
  });
}

function run(cmd: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    step = spawn(cmd[0]!, cmd.slice(1), { stdio: "inherit", env });
    step.on("error", () => resolve(127));
    step.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const only = process.env.GRIDQ_TEST_ONLY; // e.g. "tests" to skip lint while iterating
let failed: { name: string; status: number } | null = null;
try {
  for (const [name, cmd] of steps) {
    if (only && !name.startsWith(only)) continue;
    let env = process.env;
    if (name.startsWith("tests")) {
      const started = Date.now();
      postgres = await startPostgres();
      console.log(
        `\n== postgresql: pid ${postgres.pid}, ${new URL(postgres.url).host} (${Date.now() - started} ms)`,
      );
      env = { ...process.env, GRIDQ_TEST_PG_URL: postgres.url };
    }
    console.log(`\n== ${name}: ${cmd.join(" ")}`);
    const status = await run(cmd, env);
    if (status !== 0) {
      failed = { name, status };
      console.error(`\n== ${name} failed (exit ${status})`);
      break;
    }
  }
} finally {
  await stopPostgres();
}
if (failed) process.exit(failed.status);
