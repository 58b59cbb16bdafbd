// TLS levels on real sockets: the self-signed pair (kept, reused, renewed), CA-signed files with a chain, hot reload.

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  certificateNames,
  ensureSelfSigned,
  loadCertificateFiles,
  loadTls,
  namesFor,
  reloadCertificates,
  selfSignedPaths,
  serverUrl,
} from "../../src/server/tls.ts";
import { makeTestCa } from "./helpers/test-ca.ts";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "gridq-tls-"));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An HTTPS server on 127.0.0.1 that answers with the number of TLS connections it has seen. */
async function serve(cert: string, key: string) {
  let connections = 0;
  const server = https.createServer({ cert, key }, (_req, res) => res.end(String(connections)));
  server.on("secureConnection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    connections: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function get(port: string | number, opts: https.RequestOptions): Promise<{ body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path: "/", ...opts }, (res) => {
      const serial = (res.socket as import("node:tls").TLSSocket).getPeerCertificate().serialNumber;
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ body, serial }));
    });
    req.on("error", reject);
  });
}

test("self-signed: created once with a 0600 key, reused, renewed when a name is missing", async () => {
  const home = tmp();
  const now = new Date();
  const first = await ensureSelfSigned(home, namesFor("127.0.0.1"), now);
  assert.equal(first.created, true);
  const p = selfSignedPaths(home);
  assert.equal(statSync(p.key).mode & 0o777, 0o600);
  assert.equal(statSync(p.dir).mode & 0o777, 0o700);
  assert.deepEqual([...certificateNames(first.cert)].sort(), ["0:0:0:0:0:0:0:1", "127.0.0.1", "localhost"]);

  const again = await ensureSelfSigned(home, namesFor("127.0.0.1"), now);
  assert.equal(again.created, false);
  assert.equal(again.cert, first.cert);

  const wider = await ensureSelfSigned(home, namesFor("127.0.0.1", ["gridq.example.org"]), now);
  assert.equal(wider.created, true);
  assert.ok(certificateNames(wider.cert).has("gridq.example.org"));

  // Close to expiry: renewed at start.
  const late = new Date(new X509Certificate(wider.cert).validTo);
  const renewed = await ensureSelfSigned(home, namesFor("127.0.0.1", ["gridq.example.org"]), late);
  assert.equal(renewed.created, true);

  // A damaged file is replaced, not fatal.
  writeFileSync(p.cert, "garbage");
  assert.equal((await ensureSelfSigned(home, namesFor("127.0.0.1"), now)).created, true);
});

test("self-signed: a client trusting the data folder's certificate connects; one that does not is refused", async () => {
  const home = tmp();
  const tls = await loadTls({ mode: "self-signed" }, home, "127.0.0.1", new Date());
  assert.ok(tls?.trustFile);
  const s = await serve(tls.cert, tls.key);
  try {
    const ca = readFileSync(tls.trustFile);
    const ok = await get(s.port, { ca, agent: false });
    assert.equal(ok.body, "1");
    await assert.rejects(get(s.port, { agent: false }), /self-signed|self signed/);
  } finally {
    await s.close();
  }
});

test("a wildcard listen address covers this host's names and addresses", () => {
  const names = namesFor("0.0.0.0");
  assert.ok(names.includes("localhost"));
  assert.ok(names.includes("127.0.0.1"));
  assert.ok(names.length >= 3);
  assert.equal(serverUrl("127.0.0.1", 8443, "self-signed"), "https://127.0.0.1:8443");
  assert.equal(serverUrl("::1", 80, "off"), "http://[::1]:80");
});

test("files: CA-signed leaf plus chain verifies against the root; reload swaps it without dropping connections", async () => {
  const ca = makeTestCa(tmp());
  const one = ca.issue("one");
  const two = ca.issue("two");
  const settings = { mode: "files" as const, cert: one.cert, key: one.key, chain: ca.chainFile };
  const tls = await loadTls(settings, tmp(), "127.0.0.1", new Date());
  assert.ok(tls);
  assert.equal(tls.trustFile, null);
  const s = await serve(tls.cert, tls.key);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(ca.rootCert) });
  try {
    const a = await get(s.port, { agent });
    const b = await get(s.port, { agent });
    assert.equal(a.serial, b.serial);
    assert.equal(b.body, "1", "keep-alive reuses one connection");

    const r = reloadCertificates(s.server, { ...settings, cert: two.cert, key: two.key });
    assert.equal(r.ok, true);
    const c = await get(s.port, { agent });
    assert.equal(c.serial, a.serial, "the open connection keeps its certificate");
    assert.equal(c.body, "1", "and is not dropped");
    const fresh = await get(s.port, { ca: readFileSync(ca.rootCert), agent: false });
    assert.notEqual(fresh.serial, a.serial, "a new connection gets the new certificate");
    assert.equal(fresh.body, "2");

    // A broken reload keeps serving the last good pair.
    const bad = reloadCertificates(s.server, { ...settings, cert: one.cert, key: two.key });
    assert.deepEqual(bad.ok, false);
    const still = await get(s.port, { ca: readFileSync(ca.rootCert), agent: false });
    assert.equal(still.serial, fresh.serial);
  } finally {
    agent.destroy();
    await s.close();
  }
});

test("files: without the chain a client that only trusts the root fails", async () => {
  const ca = makeTestCa(tmp());
  const one = ca.issue("one");
  const { cert, key } = loadCertificateFiles({ cert: one.cert, key: one.key });
  const s = await serve(cert, key);
  try {
    await assert.rejects(get(s.port, { ca: readFileSync(ca.rootCert), agent: false }), /issuer|verify/i);
  } finally {
    await s.close();
  }
});

test("files: clear errors for missing, unreadable or mismatched files", () => {
  const ca = makeTestCa(tmp());
  const one = ca.issue("one");
  const two = ca.issue("two");
  assert.throws(() => loadCertificateFiles({ cert: one.cert }), /needs both tls.cert and tls.key/);
  assert.throws(
    () => loadCertificateFiles({ cert: "/nonexistent.crt", key: one.key }),
    /cannot read certificate \/nonexistent.crt: ENOENT/,
  );
  assert.throws(() => loadCertificateFiles({ cert: one.key, key: one.key }), /is not a PEM certificate/);
  assert.throws(() => loadCertificateFiles({ cert: one.cert, key: two.key }), /does not match/);
  assert.throws(
    () => loadCertificateFiles({ cert: one.cert, key: one.key, chain: one.key }),
    /holds no PEM certificate/,
  );
});
