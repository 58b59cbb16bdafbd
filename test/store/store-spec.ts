// Names a test database in one string, for child processes: a postgres:// URL or a SQLite file.

import type { Store } from "../../src/store/contract.ts";
import { openStore } from "../../src/store/open-store.ts";

export function openSpec(spec: string): Store {
  const postgres = /^postgres(ql)?:\/\//.test(spec);
  return openStore({
    engine: postgres ? "postgres" : "sqlite",
    path: postgres ? "" : spec,
    url: postgres ? spec : null,
    poolSize: 4,
  });
}
