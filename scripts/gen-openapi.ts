// Writes docs/openapi.json, the OpenAPI document generated from the route schemas.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { resolveConfig } from "../src/config/config.ts";
import { assemble } from "../src/server/main.ts";

export const OPENAPI_PATH = resolve(import.meta.dirname, "../docs/openapi.json");

/** The document as the server serves it at /3.0/apidocs/json, pretty-printed. */
export async function renderOpenApi(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "gridq-openapi-"));
  const a = await assemble(resolveConfig({ env: {}, overrides: { home } }), { logger: false });
  try {
    await a.app.ready();
    return `${JSON.stringify(a.app.swagger(), null, 2)}\n`;
  } finally {
    await a.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  writeFileSync(OPENAPI_PATH, await renderOpenApi());
  console.log(`wrote ${OPENAPI_PATH}`);
}
