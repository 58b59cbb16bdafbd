// The `tls` configuration: the short form, files mode's required paths, names, and bad values.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError, resolveConfig } from "../../src/config/config.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const withFile = (yaml: string, env: NodeJS.ProcessEnv = {}) => {
  const h = mkdtempSync(join(tmpdir(), "gridq-tlscfg-"));
  dirs.push(h);
  writeFileSync(join(h, "config.yaml"), yaml);
  return { h, c: () => resolveConfig({ env: { GRIDQ_HOME: h, ...env } }) };
};

test("`tls: self-signed` is short for a mapping; names are kept", () => {
  assert.equal(withFile("tls: self-signed\n").c().tls.mode, "self-signed");
  const { c } = withFile("tls:\n  mode: self-signed\n  names: [gridq.example.org, 10.1.2.3]\n");
  assert.deepEqual(c().tls.names, ["gridq.example.org", "10.1.2.3"]);
});

test("files mode resolves paths against the data folder and needs cert and key", () => {
  const { h, c } = withFile("tls:\n  mode: files\n  cert: tls/site.crt\n  key: /etc/ssl/site.key\n");
  assert.deepEqual(c().tls, {
    mode: "files",
    cert: join(h, "tls/site.crt"),
    key: "/etc/ssl/site.key",
    chain: null,
    names: [],
  });
  assert.throws(() => withFile("tls:\n  mode: files\n  cert: a.crt\n").c(), /needs tls.cert and tls.key/);
});

test("GRIDQ_TLS and friends override the file; bad modes and names are ConfigErrors", () => {
  const { c } = withFile("tls: self-signed\n", {
    GRIDQ_TLS: "files",
    GRIDQ_TLS_CERT: "/a.crt",
    GRIDQ_TLS_KEY: "/a.key",
  });
  assert.equal(c().tls.mode, "files");
  assert.equal(c().tls.cert, "/a.crt");
  assert.throws(
    () => withFile("tls: on\n").c(),
    (e: unknown) => e instanceof ConfigError && /tls.mode: 'on'/.test(e.message),
  );
  assert.throws(() => withFile("tls:\n  mode: off\n  names: 3\n").c(), /tls.names/);
});
